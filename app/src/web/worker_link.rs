//! The page's end of the store worker: sends asks, matches answers to them by number.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use tokio::sync::oneshot;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::ui::engine::{Ask, decode, encode_request};
use crate::ui::error::UiError;

type Waiting = Rc<RefCell<Option<HashMap<u32, oneshot::Sender<Vec<u8>>>>>>;

/// The running worker and the asks waiting for it. `waiting` is `None` once the worker died: every
/// ask then fails at once with a clear error instead of waiting forever.
pub struct WorkerLink {
    worker: Worker,
    waiting: Waiting,
    next: Cell<u32>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

impl WorkerLink {
    /// Starts the worker script at `url` (a module that loads this same wasm) in `role`
    /// ([`super::worker::STORE`] or [`super::worker::MEDIA`]).
    pub fn start(url: &str, role: &str) -> Result<Rc<WorkerLink>, UiError> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name(role);
        let worker = Worker::new_with_options(url, &options).map_err(|e| UiError::Engine(format!("{e:?}")))?;
        let waiting: Waiting = Rc::new(RefCell::new(Some(HashMap::new())));
        let w = waiting.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some((id, body)) = super::unframe(&e.data()) else { return };
            if let Some(tx) = w.borrow_mut().as_mut().and_then(|m| m.remove(&id)) {
                let _ = tx.send(body);
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let w = waiting.clone();
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            // Dropping the senders fails every waiting ask (first: nothing below may stop it).
            w.borrow_mut().take();
            // A script that failed to load raises a plain `Event`, a failure inside an `ErrorEvent`.
            let message = e.dyn_ref::<ErrorEvent>().map(ErrorEvent::message).unwrap_or_else(|| "its script did not load".into());
            web_sys::console::error_1(&format!("an OnSite worker stopped: {message}").into());
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Rc::new(WorkerLink { worker, waiting, next: Cell::new(0), _on_message: on_message, _on_error: on_error }))
    }

    /// Sends `ask` to the worker and waits for its answer.
    pub async fn ask<A: Ask>(&self, ask: A) -> Result<A::Answer, UiError> {
        let bytes = encode_request(&ask.into())?;
        let id = self.next.get();
        self.next.set(id.wrapping_add(1));
        let (tx, rx) = oneshot::channel();
        match self.waiting.borrow_mut().as_mut() {
            Some(waiting) => waiting.insert(id, tx),
            None => return Err(UiError::Engine("the store worker stopped: reopen the app".into())),
        };
        let framed = super::frame(id, &bytes);
        let transfer = js_sys::Array::of1(&framed.buffer());
        self.worker.post_message_with_transfer(&framed, &transfer).map_err(|e| UiError::Engine(format!("{e:?}")))?;
        let answer = rx.await.map_err(|_| UiError::Engine("the store worker stopped: reopen the app".into()))?;
        decode::<A>(&answer)
    }
}
