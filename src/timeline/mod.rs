//! The care timeline: the messages the bot writes first, on days after a client's treatment (check-ins, the
//! rebooking reminder), from the clinic's `care-plan.toml`. [`plan`] reads the file and says what is due (pure);
//! queueing what is due, once per client, treatment and step, is the rest of this module.

pub mod plan;
pub mod qr;
pub mod start_link;

pub use plan::{CarePlan, SendingWindow, Step, StepButton, StepId, Timeline};

use crate::clock::Clock;
use crate::flows::{Button, Buttons, Outbound, Service};
use crate::store::{CareTimeline, NewMessage, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::watch;

/// How many steps are queued in one transaction.
const STEPS_PER_COMMIT: usize = 256;

/// The buttons under a step, in the clinic's words, on one row.
fn buttons(service: &Service, step: &Step) -> Buttons {
    use crate::engine::messages::Key;
    if step.buttons.is_empty() {
        return Vec::new();
    }
    let engine = service.engine();
    let texts = engine.texts();
    vec![
        step.buttons
            .iter()
            .map(|button| {
                let label = match button {
                    StepButton::Fine => Key::CheckInFine,
                    StepButton::Worried => Key::CheckInWorried,
                    StepButton::Stop => Key::CheckInStop,
                };
                (texts.get(label), Button::Care(*button))
            })
            .collect(),
    ]
}

/// Queues every step of the care plan that is due at `now`, each once per client and treatment: a step is
/// recorded as sent in the transaction that queues it, and only if nobody recorded it first, so instances sharing
/// a database, or a look after a crash, never queue it twice. Returns how many were queued.
pub async fn queue_due_steps(service: &Service, now: DateTime<Utc>) -> Result<usize, StoreError> {
    // One content for the whole look, even if new intents are put in use meanwhile.
    let engine = service.engine();
    let plan = engine.care_plan();
    let zone = service.clinic.time_zone;
    let today = now.with_timezone(&zone).date_naive();
    let Some((from, to)) = plan.treatment_dates_due_on(today) else {
        return Ok(0);
    };
    let timelines = service.db.care_timelines(from, to).await?;
    let due: Vec<(&CareTimeline, &Step)> = timelines
        .iter()
        .flat_map(|timeline| {
            let known = Timeline {
                treated_on: timeline.treated_on,
                known_since: timeline.known_since,
                sent: timeline.sent.iter().map(StepId::new).collect(),
            };
            plan.due(&known, zone, now)
                .into_iter()
                .map(move |step| (timeline, step))
        })
        .collect();
    let mut queued = 0;
    for chunk in due.chunks(STEPS_PER_COMMIT) {
        let mut tx = service.db.write().await?;
        let mut messages = Vec::new();
        let mut sends = Vec::new();
        for (timeline, step) in chunk {
            let noted = tx
                .note_care_step(
                    timeline.treatment_id,
                    timeline.client_id,
                    step.id.as_str(),
                    now,
                )
                .await?;
            if !noted {
                continue; // sent by another instance since it was read
            }
            let text = engine
                .texts()
                .render(&step.text, &[("first_name", &timeline.first_name)]);
            messages.push(NewMessage::from_bot(timeline.client_id, &text, None, now));
            let reply = Outbound::Reply {
                text,
                buttons: buttons(service, step),
                reply_to: None,
            };
            sends.push(reply.queue(
                timeline.chat_id,
                None,
                Some(timeline.client_id),
                format!("care:{}:{}", timeline.treatment_id, step.id),
                now,
            ));
        }
        tx.record_messages(&messages).await?;
        tx.enqueue(&sends).await?;
        tx.commit().await?;
        queued += sends.len();
    }
    if queued > 0 {
        tracing::info!(queued, "care timeline: steps queued");
    }
    Ok(queued)
}

/// Looks for due steps `every` so often (a minute in production) until `stop`, waking the outbox when it
/// queued some.
pub async fn run(
    service: Service,
    clock: Arc<dyn Clock>,
    every: std::time::Duration,
    wake: Arc<tokio::sync::Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match queue_due_steps(&service, clock.now()).await {
            Ok(n) if n > 0 => wake.notify_one(),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "care timeline: database error"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}
