//! Reference data on the device: catalog, price list, knowledge base, van stock.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use shared::model::{Category, LineKind};
use shared::reference::{Catalog, KnowledgeBase, Part, PriceItem, PriceList, StockLine};

use super::kb::article_text;
use super::{Result, Store, StoreError};

/// What a scanned code turned out to be, for the job at hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanMatch {
    pub code: String,
    /// The catalog part, when the code is one we know.
    pub part: Option<Part>,
    /// The part fits the job's appliance (brand and model).
    pub fits: bool,
    /// How many the van holds.
    pub in_van: u32,
}

/// A van stock line with the part's names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockView {
    pub part_no: String,
    pub name_en: String,
    pub name_zh: String,
    pub quantity: u32,
    pub min_quantity: u32,
    /// Taken out since the start of the technician's day (see [`Store::van_stock`]).
    pub used_today: u32,
}

/// A part a day's jobs will likely need that the van does not hold enough of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shortfall {
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub in_van: u32,
    /// How many of the day's jobs call for it.
    pub needed: u32,
    pub for_customers: Vec<String>,
}

impl StockView {
    pub fn is_low(&self) -> bool {
        self.quantity <= self.min_quantity
    }
}

/// Replaces the van's lines with a count. A count taken at `counted_at` cannot include the parts
/// this phone took out after it (used offline, not yet known to the dispatcher): those still come
/// off, so a restock message never puts a used part back on the shelf.
fn write_van_stock(tx: &rusqlite::Transaction<'_>, lines: &[StockLine], counted_at: Option<shared::Timestamp>) -> Result<()> {
    tx.execute(
        "DELETE FROM van_stock WHERE part_no NOT IN (SELECT value FROM json_each(?1))",
        [serde_json::to_string(&lines.iter().map(|l| &l.part_no).collect::<Vec<_>>())?],
    )?;
    for l in lines {
        // Net: a part taken out and put back after the count changes nothing.
        let used_since: i64 = match counted_at {
            Some(t) => tx.query_row(
                "SELECT coalesce(sum(quantity), 0) FROM van_stock_moves WHERE part_no = ?1 AND at > ?2",
                params![l.part_no, t.0],
                |r| r.get(0),
            )?,
            None => 0,
        };
        tx.execute(
            "INSERT INTO van_stock (part_no, quantity, min_quantity) VALUES (?1, ?2, ?3)
             ON CONFLICT (part_no) DO UPDATE SET quantity = excluded.quantity, min_quantity = excluded.min_quantity",
            params![l.part_no, (i64::from(l.quantity) - used_since).max(0), l.min_quantity],
        )?;
    }
    Ok(())
}

fn set_meta(tx: &rusqlite::Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn import_catalog(tx: &rusqlite::Transaction<'_>, catalog: &Catalog) -> Result<()> {
    tx.execute("DELETE FROM parts", [])?;
    for p in &catalog.parts {
        tx.execute(
            &format!("INSERT INTO parts ({PART_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                p.part_no,
                p.name_en,
                p.name_zh,
                p.category.as_str(),
                serde_json::to_string(&p.brands)?,
                serde_json::to_string(&p.models)?,
                p.barcode,
                p.price_minor
            ],
        )?;
    }
    set_meta(tx, "catalog_version", &catalog.version.to_string())?;
    set_meta(tx, "currency", &catalog.currency)
}

fn import_prices(tx: &rusqlite::Transaction<'_>, prices: &PriceList) -> Result<()> {
    tx.execute("DELETE FROM prices", [])?;
    for i in &prices.items {
        tx.execute(
            "INSERT INTO prices (code, kind, name_en, name_zh, category, unit_price_minor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![i.code, serde_json::to_string(&i.kind)?, i.name_en, i.name_zh, i.category.map(|c| c.as_str()), i.unit_price_minor],
        )?;
    }
    set_meta(tx, "price_list_version", &prices.version.to_string())
}

fn import_kb(tx: &rusqlite::Transaction<'_>, kb: &KnowledgeBase) -> Result<()> {
    tx.execute("DELETE FROM kb_articles", [])?;
    tx.execute("DELETE FROM kb_fts", [])?;
    for a in &kb.articles {
        tx.execute(
            "INSERT INTO kb_articles (id, category, json) VALUES (?1, ?2, ?3)",
            params![a.id, a.category.as_str(), serde_json::to_string(a)?],
        )?;
        tx.execute("INSERT INTO kb_fts (article_id, text) VALUES (?1, ?2)", params![a.id, article_text(a)])?;
    }
    set_meta(tx, "kb_version", &kb.version.to_string())
}

fn part_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Part> {
    let cat: String = r.get(3)?;
    let brands: String = r.get(4)?;
    let models: String = r.get(5)?;
    let bad = |i, e: serde_json::Error| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into());
    Ok(Part {
        part_no: r.get(0)?,
        name_en: r.get(1)?,
        name_zh: r.get(2)?,
        category: Category::parse(&cat).unwrap_or(Category::Other),
        brands: serde_json::from_str(&brands).map_err(|e| bad(4, e))?,
        models: serde_json::from_str(&models).map_err(|e| bad(5, e))?,
        barcode: r.get(6)?,
        price_minor: r.get(7)?,
    })
}

const PART_COLUMNS: &str = "part_no, name_en, name_zh, category, brands, models, barcode, price_minor";

impl Store {
    /// Replaces the cached catalog, price list and knowledge base with these versions, at once.
    pub fn import_reference(&mut self, catalog: &Catalog, prices: &PriceList, kb: &KnowledgeBase) -> Result<()> {
        let tx = self.conn.transaction()?;
        import_catalog(&tx, catalog)?;
        import_prices(&tx, prices)?;
        import_kb(&tx, kb)?;
        tx.commit()?;
        Ok(())
    }

    /// Takes whatever newer reference data the server sent, in one transaction.
    pub fn apply_reference_update(&mut self, up: &shared::wire::ReferenceUpdate) -> Result<()> {
        let tx = self.conn.transaction()?;
        if let Some(c) = &up.catalog {
            import_catalog(&tx, c)?;
        }
        if let Some(p) = &up.price_list {
            import_prices(&tx, p)?;
        }
        if let Some(k) = &up.knowledge_base {
            import_kb(&tx, k)?;
        }
        if let Some(v) = &up.van_stock {
            write_van_stock(&tx, &v.lines, Some(v.counted_at))?;
            set_meta(&tx, "van_stock_version", &v.version.to_string())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The reference versions this device holds (0 = none), for the sync request.
    pub fn reference_versions(&self) -> Result<shared::wire::ReferenceVersions> {
        let v = |k: &str| -> Result<u32> { Ok(self.meta(k)?.and_then(|s| s.parse().ok()).unwrap_or(0)) };
        Ok(shared::wire::ReferenceVersions {
            catalog: v("catalog_version")?,
            price_list: v("price_list_version")?,
            knowledge_base: v("kb_version")?,
            van_stock: v("van_stock_version")?,
        })
    }

    /// Sets the van's stock as counted at the depot, now; the record of what was used stays.
    pub fn set_van_stock(&mut self, lines: &[StockLine]) -> Result<()> {
        let tx = self.conn.transaction()?;
        write_van_stock(&tx, lines, None)?;
        tx.commit()?;
        Ok(())
    }

    pub fn part(&self, part_no: &str) -> Result<Option<Part>> {
        Ok(self.conn.query_row(&format!("SELECT {PART_COLUMNS} FROM parts WHERE part_no = ?1"), [part_no], part_from_row).optional()?)
    }

    /// Matches a scanned code (barcode, or a QR payload holding the part number) for a job's
    /// appliance.
    pub fn match_scan(&self, code: &str, brand: &str, model: &str) -> Result<ScanMatch> {
        let code = code.trim();
        let part = self
            .conn
            .query_row(&format!("SELECT {PART_COLUMNS} FROM parts WHERE barcode = ?1 OR part_no = ?1 LIMIT 1"), [code], part_from_row)
            .optional()?;
        let in_van = match &part {
            Some(p) => self.stock_of(&p.part_no)?,
            None => 0,
        };
        let fits = part.as_ref().is_some_and(|p| p.fits(brand, model));
        Ok(ScanMatch { code: code.to_owned(), part, fits, in_van })
    }

    fn stock_of(&self, part_no: &str) -> Result<u32> {
        Ok(self.conn.query_row("SELECT quantity FROM van_stock WHERE part_no = ?1", [part_no], |r| r.get(0)).optional()?.unwrap_or(0))
    }

    /// What the van lacks for a day's open jobs: the parts their best-matching known fix calls
    /// for, beyond what is on board. A technician checks it before leaving the depot.
    pub fn van_readiness(&self, jobs: &[super::JobSummary]) -> Result<Vec<Shortfall>> {
        let mut out: Vec<Shortfall> = Vec::new();
        for j in jobs.iter().filter(|j| j.status.is_open()) {
            let Some(best) = self.fixes_for(j.category, &j.brand, &j.model, &j.problem)?.into_iter().next() else { continue };
            for part_no in &best.article.parts {
                match out.iter_mut().find(|s| &s.part_no == part_no) {
                    Some(s) => {
                        s.needed += 1;
                        s.for_customers.push(j.customer_name.clone());
                    }
                    None => {
                        let part = self.part(part_no)?;
                        out.push(Shortfall {
                            part_no: part_no.clone(),
                            name_zh: part.as_ref().map_or_else(|| part_no.clone(), |p| p.name_zh.clone()),
                            name_en: part.as_ref().map_or_else(|| part_no.clone(), |p| p.name_en.clone()),
                            in_van: self.stock_of(part_no)?,
                            needed: 1,
                            for_customers: vec![j.customer_name.clone()],
                        });
                    }
                }
            }
        }
        out.retain(|s| s.in_van < s.needed);
        Ok(out)
    }

    /// What is on board, with what was taken out since `day_start` (the start of the
    /// technician's local day).
    pub fn van_stock(&self, day_start: shared::Timestamp) -> Result<Vec<StockView>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.part_no, coalesce(p.name_en, s.part_no), coalesce(p.name_zh, s.part_no), s.quantity, s.min_quantity,
                    (SELECT max(0, coalesce(sum(m.quantity), 0)) FROM van_stock_moves m WHERE m.part_no = s.part_no AND m.at >= ?1)
             FROM van_stock s LEFT JOIN parts p ON p.part_no = s.part_no ORDER BY s.part_no",
        )?;
        let rows = stmt.query_map([day_start.0], |r| {
            Ok(StockView {
                part_no: r.get(0)?,
                name_en: r.get(1)?,
                name_zh: r.get(2)?,
                quantity: r.get(3)?,
                min_quantity: r.get(4)?,
                used_today: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn price_list(&self, category: Option<Category>) -> Result<Vec<PriceItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT code, kind, name_en, name_zh, category, unit_price_minor FROM prices
             WHERE ?1 IS NULL OR category IS NULL OR category = ?1 ORDER BY kind, code",
        )?;
        let rows = stmt.query_map([category.map(|c| c.as_str())], |r| {
            let kind: String = r.get(1)?;
            let cat: Option<String> = r.get(4)?;
            Ok(PriceItem {
                code: r.get(0)?,
                kind: serde_json::from_str(&kind).unwrap_or(LineKind::Other),
                name_en: r.get(2)?,
                name_zh: r.get(3)?,
                category: cat.and_then(|c| Category::parse(&c)),
                unit_price_minor: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Adds a price-list item (labour, call-out...) to a job's quote: a new line, or one more on
    /// the line that already has it.
    pub fn add_price_item(&mut self, job: shared::JobId, code: &str) -> Result<super::JobView> {
        let view = self.open_job(job)?;
        if let Some(l) = view.field.quote.lines.iter().find(|l| l.code == code && l.kind != LineKind::Part) {
            let line = shared::model::LineItem { quantity: l.quantity.saturating_add(1), ..l.clone() };
            return self.apply_edit(job, shared::edit::FieldEdit::UpsertLine { line });
        }
        let item = self
            .price_list(Some(view.dispatch.appliance.category))?
            .into_iter()
            .find(|p| p.code == code && p.kind != LineKind::Part)
            .ok_or_else(|| StoreError::UnknownPriceItem(code.to_owned()))?;
        let line = shared::model::LineItem {
            id: shared::ItemId::new(),
            kind: item.kind,
            code: item.code,
            description: format!("{} {}", item.name_zh, item.name_en),
            quantity: 1,
            unit_price_minor: item.unit_price_minor,
        };
        self.apply_edit(job, shared::edit::FieldEdit::UpsertLine { line })
    }

    /// Sets how many of a price-list line the quote counts (at least one; a part line's count is
    /// what left the van, so it is refused).
    pub fn set_line_quantity(&mut self, job: shared::JobId, line: shared::ItemId, quantity: u32) -> Result<super::JobView> {
        let view = self.open_job(job)?;
        let l = view.field.quote.lines.iter().find(|l| l.id == line).ok_or(shared::edit::EditError::NoSuchLine(line))?;
        let line = shared::model::LineItem { quantity: quantity.max(1), ..l.clone() };
        self.apply_edit(job, shared::edit::FieldEdit::UpsertLine { line })
    }

    /// Removes a line from a job's quote. A part line that came out of the van puts its parts
    /// back (as far as this job took them out), in the same transaction.
    pub fn remove_line(&mut self, job: shared::JobId, line: shared::ItemId) -> Result<super::JobView> {
        let actor = self.actor()?;
        let view = self.open_job(job)?;
        let removed = view.field.quote.lines.iter().find(|l| l.id == line).cloned();
        let now = shared::Timestamp::now();
        let tx = self.conn.transaction()?;
        let after = super::jobs::field_edit_in(&tx, &job.to_string(), &actor, now, shared::edit::FieldEdit::RemoveLine { id: line })?;
        if let Some(l) = removed.filter(|l| l.kind == LineKind::Part) {
            let out: i64 = tx.query_row(
                "SELECT coalesce(sum(quantity), 0) FROM van_stock_moves WHERE job_id = ?1 AND part_no = ?2",
                params![job.to_string(), l.code],
                |r| r.get(0),
            )?;
            let back = out.min(i64::from(l.quantity));
            if back > 0 {
                tx.execute(
                    "INSERT INTO van_stock (part_no, quantity, min_quantity) VALUES (?1, ?2, 0)
                     ON CONFLICT (part_no) DO UPDATE SET quantity = quantity + excluded.quantity",
                    params![l.code, back],
                )?;
                tx.execute(
                    "INSERT INTO van_stock_moves (part_no, job_id, quantity, at) VALUES (?1, ?2, ?3, ?4)",
                    params![l.code, job.to_string(), -back, now.0],
                )?;
            }
        }
        tx.commit()?;
        Ok(after)
    }

    /// Takes parts from the van for a job and adds the priced line to its quote, in one
    /// transaction: stock and quote never disagree.
    pub fn use_part(&mut self, job: shared::JobId, part_no: &str, quantity: u32) -> Result<super::JobView> {
        self.use_part_at(job, part_no, quantity, shared::Timestamp::now())
    }

    /// [`Store::use_part`] at a given time (tests and replays).
    pub fn use_part_at(&mut self, job: shared::JobId, part_no: &str, quantity: u32, now: shared::Timestamp) -> Result<super::JobView> {
        let actor = self.actor()?;
        let part = self.part(part_no)?.ok_or_else(|| StoreError::UnknownPart(part_no.to_owned()))?;
        let have = self.stock_of(part_no)?;
        if have < quantity {
            return Err(StoreError::OutOfStock { part_no: part_no.to_owned(), have, need: quantity });
        }
        let tx = self.conn.transaction()?;
        tx.execute("UPDATE van_stock SET quantity = quantity - ?2 WHERE part_no = ?1", params![part_no, quantity])?;
        tx.execute(
            "INSERT INTO van_stock_moves (part_no, job_id, quantity, at) VALUES (?1, ?2, ?3, ?4)",
            params![part_no, job.to_string(), quantity, now.0],
        )?;
        let line = shared::model::LineItem {
            id: shared::ItemId::new(),
            kind: LineKind::Part,
            code: part.part_no.clone(),
            description: format!("{} {}", part.name_zh, part.name_en),
            quantity,
            unit_price_minor: part.price_minor,
        };
        let view = super::jobs::field_edit_in(&tx, &job.to_string(), &actor, now, shared::edit::FieldEdit::UpsertLine { line })?;
        tx.commit()?;
        Ok(view)
    }
}
