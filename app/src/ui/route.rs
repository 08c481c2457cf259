//! The app's screens as routes: one URL per screen, so the browser's back button, a reload and a
//! link all land where the technician expects.

use dioxus::prelude::*;
use shared::JobId;

use super::app::Shell;
use super::views::{Day, Job, Kb, KbFor, NotFound, Settings, Today, Van};

#[derive(Routable, Clone, Debug, PartialEq)]
#[rustfmt::skip]
pub enum Route {
    #[layout(Shell)]
        #[redirect("/", || Route::Today {})]
        #[route("/today")]
        Today {},
        /// Another day's plan: `offset` days from today (1 = tomorrow).
        #[route("/day/:offset")]
        Day { offset: i32 },
        #[route("/jobs/:id")]
        Job { id: JobId },
        #[route("/kb")]
        Kb {},
        /// The knowledge base opened on one kind of appliance (from a job).
        #[route("/kb/:category")]
        KbFor { category: String },
        #[route("/van")]
        Van {},
        #[route("/settings")]
        Settings {},
    #[end_layout]
    #[route("/:..segments")]
    NotFound { segments: Vec<String> },
}

impl Route {
    /// The tab a screen belongs to.
    pub fn tab(&self) -> Tab {
        match self {
            Route::Today {} | Route::Day { .. } | Route::Job { .. } | Route::NotFound { .. } => Tab::Today,
            Route::Kb {} | Route::KbFor { .. } => Tab::Kb,
            Route::Van {} => Tab::Van,
            Route::Settings {} => Tab::Settings,
        }
    }
}

/// The tab bar's entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Today,
    Kb,
    Van,
    Settings,
}
