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
/// Known fixes suggested on a job screen.
const FIXES_MAX: usize = 3;

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

/// A search term as typed: a Latin word (letters and digits only) or a run of CJK characters.
enum Term {
    Latin(String),
    Cjk(Vec<char>),
}

/// Splits input into terms. Quotes, operators and punctuation never reach FTS5 as syntax.
fn terms(input: &str) -> Vec<Term> {
    let mut out = Vec::new();
    for word in input.split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '-')) {
        let mut latin = String::new();
        let mut cjk = Vec::new();
        let flush_latin = |latin: &mut String, out: &mut Vec<Term>| {
            let w: String = latin.chars().filter(|c| c.is_alphanumeric()).collect();
            if !w.is_empty() {
                out.push(Term::Latin(w));
            }
            latin.clear();
        };
        for c in word.chars() {
            if is_cjk(c) {
                flush_latin(&mut latin, &mut out);
                cjk.push(c);
            } else {
                if !cjk.is_empty() {
                    out.push(Term::Cjk(std::mem::take(&mut cjk)));
                }
                latin.push(c);
            }
        }
        flush_latin(&mut latin, &mut out);
        if !cjk.is_empty() {
            out.push(Term::Cjk(cjk));
        }
    }
    out
}

fn phrase(chars: &[char]) -> String {
    format!("\"{}\"", chars.iter().map(char::to_string).collect::<Vec<_>>().join(" "))
}

/// Turns what a technician typed into an FTS5 query: every term must match; Latin terms match
/// as prefixes (`drain*`), CJK runs as phrases.
fn fts_query(input: &str) -> Option<String> {
    let parts: Vec<String> = terms(input)
        .into_iter()
        .map(|t| match t {
            Term::Latin(w) => format!("\"{w}\"*"),
            Term::Cjk(run) => phrase(&run),
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// English words too common in fault descriptions to say anything about the fault.
const STOP_WORDS: &[&str] = &["a", "an", "and", "at", "do", "does", "is", "it", "not", "of", "on", "or", "the", "to", "when", "will"];

/// A query for articles resembling a free-text problem description: any term may match and
/// BM25 ranks articles by how many (and how rare) do. A customer writes 冷藏室不冷 where the
/// article says 冷藏高于10°C, so CJK runs match by their two-character pieces, not as a whole.
fn fts_any_query(input: &str) -> Option<String> {
    let mut parts = Vec::new();
    for t in terms(input) {
        match t {
            Term::Latin(w) if w.len() > 1 && !STOP_WORDS.contains(&w.to_lowercase().as_str()) => parts.push(format!("\"{w}\"*")),
            Term::Latin(_) => {}
            Term::Cjk(run) if run.len() == 1 => parts.push(phrase(&run)),
            Term::Cjk(run) => parts.extend(run.windows(2).map(phrase)),
        }
    }
    parts.sort();
    parts.dedup();
    (!parts.is_empty()).then(|| parts.join(" OR "))
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

    /// Known fixes for a job: articles of the appliance's category that resemble its brand,
    /// model and problem description, best first. Empty when nothing in the category matches.
    pub fn fixes_for(&self, category: Category, brand: &str, model: &str, problem: &str) -> Result<Vec<KbHit>> {
        let Some(q) = fts_any_query(&format!("{brand} {model} {problem}")) else { return Ok(Vec::new()) };
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.json, bm25(kb_fts) AS rank FROM kb_fts JOIN kb_articles a ON a.id = kb_fts.article_id
             WHERE kb_fts MATCH ?1 AND a.category = ?2
             ORDER BY rank LIMIT ?3",
        )?;
        let rows: Vec<(String, f64)> = stmt
            .query_map(params![q, category.as_str(), FIXES_MAX as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
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
        assert_eq!(
            fts_any_query("不断电，一直烧 / does not drain").as_deref(),
            Some("\"drain\"* OR \"一 直\" OR \"不 断\" OR \"断 电\" OR \"直 烧\"")
        );
        assert_eq!(fts_any_query("the 水 a"), Some("\"水\"".into()));
        assert_eq!(fts_any_query("is it ?"), None);
    }
}
