//! The job documents as Automerge documents: creating them, loading untrusted bytes, and reading
//! them back as typed values.

use automerge::{ActorId, AutoCommit};
use autosurgeon::{hydrate, reconcile};

use crate::ids::{DeviceId, ItemId, JobId};
use crate::model::{
    Appliance, Channel, Customer, DISPATCH_SCHEMA, DispatchAction, DispatchDoc, DispatchEvent, FIELD_SCHEMA, FieldDoc, Priority, Sla,
    Window,
};
use crate::time::Timestamp;

/// Largest document accepted from anywhere (a job with 40 photos' metadata and a few signatures
/// is ~100 KB; photos themselves are blobs).
pub const DOC_BYTES_MAX: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("document is {0} bytes, over the {DOC_BYTES_MAX}-byte limit")]
    TooLarge(usize),
    #[error("not a valid Automerge document: {0}")]
    Malformed(#[from] automerge::AutomergeError),
    #[error("document does not have the expected shape: {0}")]
    Shape(#[from] autosurgeon::HydrateError),
    #[error("could not write document: {0}")]
    Reconcile(#[from] autosurgeon::ReconcileError),
    #[error("document schema {found} is newer than this program understands ({supported})")]
    NewerSchema { found: u32, supported: u32 },
    #[error("document belongs to job {found}, expected {expected}")]
    WrongJob { found: JobId, expected: JobId },
}

/// Every blob the job's documents name, thumbnails first (so a slow download shows something
/// early): the customer's photos and the technicians' photos. Whoever may read the job may read
/// these, and nothing else.
pub fn blobs_named(dispatch: &DispatchDoc, field: &FieldDoc) -> Vec<crate::BlobHash> {
    let pairs =
        dispatch.customer_photos.iter().map(|p| (&p.thumbnail, &p.blob)).chain(field.photos.iter().map(|p| (&p.thumbnail, &p.blob)));
    let (thumbs, full): (Vec<_>, Vec<_>) = pairs.map(|(t, b)| (t.clone(), b.clone())).unzip();
    thumbs.into_iter().chain(full).collect()
}

/// Which of a job's two documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Dispatch,
    Field,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Dispatch => "dispatch",
            DocKind::Field => "field",
        }
    }

    pub fn parse(s: &str) -> Option<DocKind> {
        match s {
            "dispatch" => Some(DocKind::Dispatch),
            "field" => Some(DocKind::Field),
            _ => None,
        }
    }
}

/// The Automerge actor for a device: stable across restarts, so its changes form one sequence.
pub fn device_actor(device: DeviceId) -> ActorId {
    ActorId::from(device.0.as_bytes().as_slice())
}

/// Loads a document from untrusted bytes (bounded, verified).
pub fn load(bytes: &[u8]) -> Result<AutoCommit, DocError> {
    if bytes.len() > DOC_BYTES_MAX {
        return Err(DocError::TooLarge(bytes.len()));
    }
    Ok(AutoCommit::load(bytes)?)
}

pub fn read_dispatch(doc: &AutoCommit) -> Result<DispatchDoc, DocError> {
    let d: DispatchDoc = hydrate(doc)?;
    if d.schema > DISPATCH_SCHEMA {
        return Err(DocError::NewerSchema { found: d.schema, supported: DISPATCH_SCHEMA });
    }
    Ok(d)
}

pub fn read_field(doc: &AutoCommit) -> Result<FieldDoc, DocError> {
    let f: FieldDoc = hydrate(doc)?;
    if f.schema > FIELD_SCHEMA {
        return Err(DocError::NewerSchema { found: f.schema, supported: FIELD_SCHEMA });
    }
    Ok(f)
}

/// What a dispatcher fills in to open a job.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewJob {
    pub channel: Channel,
    pub priority: Priority,
    pub customer: Customer,
    pub appliance: Appliance,
    #[cfg_attr(feature = "openapi", schema(max_length = 2048, example = "洗衣机不排水 / the washer does not drain"))]
    pub problem: String,
    #[serde(default)]
    pub sla: Sla,
    pub appointment: Option<Window>,
    /// Currency the job will be quoted in (ISO 4217).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Z]{3}$", example = "CNY"))]
    pub currency: String,
}

/// Both documents of a new job, born on one replica so every container exists exactly once.
pub struct NewJobDocs {
    pub job_id: JobId,
    pub dispatch: AutoCommit,
    pub field: AutoCommit,
}

impl NewJob {
    /// The same checks as a later update of the same fields ([`crate::edit::check_dispatch_fields`]),
    /// plus what only creation sets (currency, appointment).
    pub fn check(&self) -> Result<(), crate::edit::EditError> {
        use crate::edit::{DispatchFields, EditError, check_dispatch_fields};
        crate::money::check_currency(&self.currency).map_err(|e| EditError::Invalid { field: "currency", why: e.to_string() })?;
        if self.appointment.is_some_and(|w| !w.is_valid()) {
            return Err(EditError::BadWindow);
        }
        check_dispatch_fields(&DispatchFields {
            priority: Some(self.priority),
            customer: Some(self.customer.clone()),
            appliance: Some(self.appliance.clone()),
            problem: Some(self.problem.clone()),
            sla: Some(self.sla),
        })
    }
}

pub fn create_job(job: NewJob, by: &str, now: Timestamp, actor: ActorId) -> Result<NewJobDocs, DocError> {
    let job_id = JobId::new();
    let dispatch = DispatchDoc {
        schema: DISPATCH_SCHEMA,
        job_id,
        created_at: now,
        channel: job.channel,
        priority: job.priority,
        customer: job.customer,
        appliance: job.appliance,
        problem: job.problem,
        sla: job.sla,
        appointment: job.appointment,
        events: vec![DispatchEvent { id: ItemId::new(), at: now, by: by.to_owned(), action: DispatchAction::Created }],
        notes: Vec::new(),
        customer_photos: Vec::new(),
    };
    let mut d = AutoCommit::new().with_actor(actor.clone());
    reconcile(&mut d, &dispatch)?;
    commit(&mut d, "create job", now);
    let mut f = AutoCommit::new().with_actor(actor);
    reconcile(&mut f, FieldDoc::empty(job_id, &job.currency))?;
    commit(&mut f, "create field document", now);
    Ok(NewJobDocs { job_id, dispatch: d, field: f })
}

/// Commits pending operations with a message and time, for the document's own history.
pub fn commit(doc: &mut AutoCommit, message: &str, now: Timestamp) {
    doc.commit_with(automerge::transaction::CommitOptions::default().with_message(message.to_owned()).with_time(now.0 / 1000));
}
