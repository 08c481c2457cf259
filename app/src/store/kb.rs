//! Offline knowledge-base search (SQLite FTS5).
//!
//! FTS5's unicode61 tokenizer keeps a run of Chinese characters as one token, so 漏水 would not
//! match 洗衣机漏水. We index and query CJK text one character per token and search CJK words as
//! phrases, which gives substring matching for Chinese while English keeps word matching.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use shared::model::Category;
use shared::reference::KbArticle;

use super::{Result, Store};

/// Results per search.
const HITS_MAX: usize = 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KbHit {
    pub article: KbArticle,
    /// BM25 rank: lower is better.
    pub rank: f64,
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

/// Puts spaces around every CJK character so each becomes its own token.
pub(super) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if is_cjk(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Turns what a technician typed into an FTS5 query: every term must match; Latin terms match
/// as prefixes (`drain*`), CJK runs as phrases. Operators and quotes in the input are not syntax.
fn fts_query(input: &str) -> Option<String> {
    let mut terms = Vec::new();
    for word in input.split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '-')) {
        let mut latin = String::new();
        let mut cjk = Vec::new();
        let flush_latin = |latin: &mut String, terms: &mut Vec<String>| {
            let w: String = latin.chars().filter(|c| c.is_alphanumeric()).collect();
            if !w.is_empty() {
                terms.push(format!("\"{w}\"*"));
            }
            latin.clear();
        };
        for c in word.chars() {
            if is_cjk(c) {
                flush_latin(&mut latin, &mut terms);
                cjk.push(c.to_string());
            } else {
                if !cjk.is_empty() {
                    terms.push(format!("\"{}\"", cjk.join(" ")));
                    cjk.clear();
                }
                latin.push(c);
            }
        }
        flush_latin(&mut latin, &mut terms);
        if !cjk.is_empty() {
            terms.push(format!("\"{}\"", cjk.join(" ")));
        }
    }
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

pub(super) fn article_text(a: &KbArticle) -> String {
    segment(
        &[
            a.title_en.as_str(),
            &a.title_zh,
            &a.symptom_en,
            &a.symptom_zh,
            &a.cause_en,
            &a.cause_zh,
            &a.fix_en,
            &a.fix_zh,
            &a.brands.join(" "),
            &a.parts.join(" "),
        ]
        .join("\n"),
    )
}

impl Store {
    /// Known faults and fixes matching `query` (Chinese or English), optionally in one category.
    /// An empty query lists the category's articles.
    pub fn search_kb(&self, query: &str, category: Option<Category>) -> Result<Vec<KbHit>> {
        let cat = category.map(|c| c.as_str());
        let rows: Vec<(String, f64)> = match fts_query(query) {
            Some(q) => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT a.json, bm25(kb_fts) AS rank FROM kb_fts JOIN kb_articles a ON a.id = kb_fts.article_id
                     WHERE kb_fts MATCH ?1 AND (?2 IS NULL OR a.category = ?2)
                     ORDER BY rank LIMIT ?3",
                )?;
                stmt.query_map(params![q, cat, HITS_MAX as i64], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?
            }
            None => {
                let mut stmt = self
                    .conn
                    .prepare_cached("SELECT json, 0.0 FROM kb_articles WHERE (?1 IS NULL OR category = ?1) ORDER BY id LIMIT ?2")?;
                stmt.query_map(params![cat, HITS_MAX as i64], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?
            }
        };
        rows.into_iter().map(|(json, rank)| Ok(KbHit { article: serde_json::from_str(&json)?, rank })).collect()
    }

    pub fn kb_article(&self, id: &str) -> Result<Option<KbArticle>> {
        use rusqlite::OptionalExtension;
        let json: Option<String> = self.conn.query_row("SELECT json FROM kb_articles WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_safe_and_segmented() {
        assert_eq!(fts_query("漏水").as_deref(), Some("\"漏 水\""));
        assert_eq!(fts_query("drain pump").as_deref(), Some("\"drain\"* AND \"pump\"*"));
        assert_eq!(fts_query("E4 错误").as_deref(), Some("\"E4\"* AND \"错 误\""));
        assert_eq!(fts_query("\"; DROP TABLE --").as_deref(), Some("\"DROP\"* AND \"TABLE\"*"));
        assert_eq!(fts_query("  ?? "), None);
    }
}
