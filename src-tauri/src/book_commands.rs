//! The appointment book's commands (issue 10), hooked into [`crate::commands::dispatch`]. Each
//! parses, calls one core function and maps the error, like every other command.

use frontdesk_core::appointment_book::{
    BookViewArgs, BookingArgs, CancelArgs, RescheduleArgs, SlotSearchArgs, StatusArgs,
};
use frontdesk_core::waitlist::{
    SlotOfferArgs, WaitlistAddArgs, WaitlistBookingArgs, WaitlistEntryArgs,
};
use frontdesk_core::Desk;
use serde_json::Value;

use crate::commands::{parse, respond, CommandError};

/// This module's commands (their argument and result types are listed in
/// [`crate::commands::COMMANDS`], for the bindings).
pub const NAMES: &[&str] = &[
    "book_view",
    "find_slots",
    "check_booking",
    "book_appointment",
    "reschedule_appointment",
    "set_appointment_status",
    "cancel_appointment",
    "day_sheet",
    "waitlist",
    "add_to_waitlist",
    "remove_from_waitlist",
    "slot_offers",
    "dismiss_slot_offer",
    "book_from_waitlist",
];

/// Whether `command` is one of the book's.
pub fn handles(command: &str) -> bool {
    NAMES.contains(&command)
}

/// Runs one of the book's commands.
pub async fn dispatch(desk: &Desk, command: &str, args: Value) -> Result<Value, CommandError> {
    match command {
        "book_view" => {
            run(
                args,
                |a: BookViewArgs| async move { desk.book_view(&a).await },
            )
            .await
        }
        "find_slots" => {
            run(args, |a: SlotSearchArgs| async move {
                desk.find_slots(&a).await
            })
            .await
        }
        "check_booking" => {
            run(args, |a: BookingArgs| async move {
                desk.check_booking(&a).await
            })
            .await
        }
        "book_appointment" => {
            run(args, |a: BookingArgs| async move {
                desk.book_appointment(&a).await
            })
            .await
        }
        "reschedule_appointment" => {
            run(args, |a: RescheduleArgs| async move {
                desk.reschedule_appointment(&a).await
            })
            .await
        }
        "set_appointment_status" => {
            run(args, |a: StatusArgs| async move {
                desk.set_appointment_status(&a).await
            })
            .await
        }
        "cancel_appointment" => {
            run(args, |a: CancelArgs| async move {
                desk.cancel_appointment(&a).await
            })
            .await
        }
        "day_sheet" => {
            run(
                args,
                |a: BookViewArgs| async move { desk.day_sheet(&a).await },
            )
            .await
        }
        "waitlist" => {
            let crate::commands::NoArgs {} = parse(args)?;
            respond(desk.waitlist().await?)
        }
        "add_to_waitlist" => {
            run(args, |a: WaitlistAddArgs| async move {
                desk.add_to_waitlist(&a).await
            })
            .await
        }
        "remove_from_waitlist" => {
            run(args, |a: WaitlistEntryArgs| async move {
                desk.remove_from_waitlist(&a).await
            })
            .await
        }
        "slot_offers" => {
            let crate::commands::NoArgs {} = parse(args)?;
            respond(desk.slot_offers().await?)
        }
        "dismiss_slot_offer" => {
            run(args, |a: SlotOfferArgs| async move {
                desk.dismiss_slot_offer(&a).await
            })
            .await
        }
        "book_from_waitlist" => {
            run(args, |a: WaitlistBookingArgs| async move {
                desk.book_from_waitlist(&a).await
            })
            .await
        }
        other => Err(CommandError {
            code: crate::commands::CommandErrorCode::UnknownCommand,
            message: format!("there is no command {other:?}"),
            field: None,
            details: None,
        }),
    }
}

async fn run<A, R, F, Fut>(args: Value, call: F) -> Result<Value, CommandError>
where
    A: serde::de::DeserializeOwned,
    R: serde::Serialize,
    F: FnOnce(A) -> Fut,
    Fut: std::future::Future<Output = Result<R, frontdesk_core::CoreError>>,
{
    let args: A = parse(args)?;
    respond(call(args).await?)
}
