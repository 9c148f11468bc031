//! The desk's command surface, shared by the Tauri window and browser mode.
//!
//! Each command is one arm of [`dispatch`]: parse the arguments, call one `frontdesk-core`
//! function, map the error. [`COMMANDS`] lists them with their TypeScript argument and result
//! types, from which `ui/src/bindings/commands.ts` is generated.

use frontdesk_core::account::{DeviceData, RemoveDeviceDataArgs, SignOut, SignOutArgs};
use frontdesk_core::chart::{
    Chart, ChartAppointment, InvoiceArgs, PatientArgs, RecordArgs, RecordSummary, RecordView,
};
use frontdesk_core::editing::EditPatientArgs;
use frontdesk_core::lock::{LockView, PinArgs, UnlockArgs};
use frontdesk_core::lookup::{PatientMatch, SearchArgs};
use frontdesk_core::registration::{NewPatientArgs, RegistrationCheck};
use frontdesk_core::session::{SessionInfo, SyncView};
use frontdesk_core::{AppStatus, CoreError, Desk, PendingWrite};
use practice_studio::model::{ErrorDetail, Invoice};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// Arguments of `take_payment`.
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TakePaymentArgs {
    pub invoice_id: String,
    pub payment: practice_studio::model::NewPayment,
}

/// A command's arguments when it takes none.
#[derive(Debug, Default, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Arguments of `configure_api`.
#[derive(Debug, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigureApiArgs {
    /// Base URL of the Practice Studio API, e.g. `https://ps.example.org`.
    pub api_url: String,
}

/// Arguments of `sign_in`. The password goes to the API once and is never kept.
#[derive(Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInArgs {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SignInArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignInArgs(redacted)")
    }
}

/// The kind of a command failure, for the UI to decide what to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CommandErrorCode {
    /// No command by that name.
    UnknownCommand,
    /// The arguments are malformed or a value is not acceptable.
    InvalidInput,
    /// The administrator's configuration or the user's role forbids it.
    NotAllowed,
    /// Nobody is signed in: the sign-in screen should show.
    NotSignedIn,
    /// The desk is locked: the lock screen should show.
    Locked,
    /// The user name or password was refused.
    WrongCredentials,
    /// There is no OS keychain, so the desk keeps no secrets and cannot sign in.
    NoKeychain,
    /// The server cannot be reached and the desk does not keep this.
    Offline,
    /// What was asked for does not exist.
    NotFound,
    /// The server refused.
    Refused,
    /// Something on this machine failed (a file could not be written, …).
    Internal,
}

/// What a failed command returns to the UI: a message a person can act on, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub code: CommandErrorCode,
    pub message: String,
    /// The argument at fault, when one is.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem by field, when the input broke the rules.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
}

impl CommandError {
    fn new(code: CommandErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            details: None,
        }
    }
}

impl From<CoreError> for CommandError {
    fn from(error: CoreError) -> Self {
        use frontdesk_core::ConfigError;
        use CommandErrorCode as Code;
        let message = error.to_string();
        match error {
            CoreError::InvalidApiUrl(_) => CommandError {
                field: Some("apiUrl".into()),
                ..CommandError::new(Code::InvalidInput, message)
            },
            CoreError::Config(ConfigError::Locked { .. }) => {
                CommandError::new(Code::NotAllowed, message)
            }
            CoreError::Config(ConfigError::Invalid { key, .. }) => CommandError {
                field: Some(key.name().into()),
                ..CommandError::new(Code::InvalidInput, message)
            },
            CoreError::Invalid(details) => CommandError {
                details: Some(details),
                ..CommandError::new(Code::InvalidInput, message)
            },
            CoreError::NotSignedIn => CommandError::new(Code::NotSignedIn, message),
            CoreError::Locked => CommandError::new(Code::Locked, message),
            CoreError::WrongCredentials => CommandError::new(Code::WrongCredentials, message),
            CoreError::NoKeychain(_) => CommandError::new(Code::NoKeychain, message),
            CoreError::NotAllowed(_) | CoreError::NotAUser(_) => {
                CommandError::new(Code::NotAllowed, message)
            }
            CoreError::NotFound { .. } => CommandError::new(Code::NotFound, message),
            CoreError::Offline(_) => CommandError::new(Code::Offline, message),
            CoreError::Api(_) | CoreError::BrowserSignIn(_) | CoreError::StaleEdit => {
                CommandError::new(Code::Refused, message)
            }
            CoreError::NotConfigured => CommandError::new(Code::InvalidInput, message),
            CoreError::Config(_)
            | CoreError::Keychain(_)
            | CoreError::Cache(_)
            | CoreError::Sync(_)
            | CoreError::NoDevice => {
                tracing::warn!(error = %message, "command failed");
                CommandError::new(Code::Internal, message)
            }
        }
    }
}

/// A command's name with the TypeScript names of its arguments and result, the named types
/// those mention (to import), and how to export them.
pub struct CommandSpec {
    pub name: &'static str,
    pub args: fn(&ts_rs::Config) -> String,
    pub result: fn(&ts_rs::Config) -> String,
    pub imports: fn(&ts_rs::Config) -> Vec<String>,
    pub export: fn(&ts_rs::Config) -> Result<(), ts_rs::ExportError>,
}

/// Writes one type's TypeScript file (and those of the types it mentions).
type ExportFn = fn(&ts_rs::Config) -> Result<(), ts_rs::ExportError>;

/// Visits a type and its generic arguments (`Vec<T>`, `Option<T>` → `T`), calling `each` on
/// every one that has its own TypeScript file.
struct Named<'a, F>(&'a ts_rs::Config, F);

impl<F: FnMut(&ts_rs::Config, String, ExportFn)> ts_rs::TypeVisitor for Named<'_, F> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if T::output_path().is_some() {
            (self.1)(self.0, T::ident(self.0), |cfg| T::export_all(cfg));
        }
    }
}

fn named_types<T: TS + 'static>(cfg: &ts_rs::Config) -> Vec<(String, ExportFn)> {
    let mut found = Vec::new();
    let mut visitor = Named(cfg, |_: &ts_rs::Config, name, export| {
        found.push((name, export))
    });
    ts_rs::TypeVisitor::visit::<T>(&mut visitor);
    T::visit_generics(&mut visitor);
    found
}

fn imports_of<A: TS + 'static, R: TS + 'static>(cfg: &ts_rs::Config) -> Vec<String> {
    let mut names: Vec<String> = named_types::<A>(cfg).into_iter().map(|(n, _)| n).collect();
    names.extend(named_types::<R>(cfg).into_iter().map(|(n, _)| n));
    names
}

fn export_of<A: TS + 'static, R: TS + 'static>(
    cfg: &ts_rs::Config,
) -> Result<(), ts_rs::ExportError> {
    for (_, export) in named_types::<A>(cfg)
        .into_iter()
        .chain(named_types::<R>(cfg))
    {
        export(cfg)?;
    }
    Ok(())
}

macro_rules! command {
    ($name:literal, $args:ty => $result:ty) => {
        CommandSpec {
            name: $name,
            args: <$args as TS>::name,
            result: <$result as TS>::name,
            imports: imports_of::<$args, $result>,
            export: export_of::<$args, $result>,
        }
    };
}

/// Every command [`dispatch`] knows.
pub const COMMANDS: &[CommandSpec] = &[
    command!("app_status", NoArgs => AppStatus),
    command!("configure_api", ConfigureApiArgs => AppStatus),
    command!("session", NoArgs => Option<SessionInfo>),
    command!("sign_in", SignInArgs => SessionInfo),
    command!("sign_in_with_browser", NoArgs => SessionInfo),
    command!("switch_user", NoArgs => ()),
    command!("sign_out", SignOutArgs => SignOut),
    command!("device_data", NoArgs => DeviceData),
    command!("remove_device_data", RemoveDeviceDataArgs => ()),
    command!("sync_status", NoArgs => Option<SyncView>),
    command!("lock_state", NoArgs => LockView),
    command!("lock", NoArgs => ()),
    command!("unlock", UnlockArgs => ()),
    command!("touch", NoArgs => ()),
    command!("set_unlock_pin", PinArgs => ()),
    command!("search_patients", SearchArgs => Vec<PatientMatch>),
    command!("recent_patients", NoArgs => Vec<PatientMatch>),
    command!("open_chart", PatientArgs => Chart),
    command!("refresh_chart", PatientArgs => Chart),
    command!("patient_appointments", PatientArgs => Vec<ChartAppointment>),
    command!("patient_records", PatientArgs => Vec<RecordSummary>),
    command!("open_record", RecordArgs => RecordView),
    command!("patient_invoices", PatientArgs => Vec<Invoice>),
    command!("open_invoice", InvoiceArgs => Invoice),
    command!("take_payment", TakePaymentArgs => frontdesk_core::payments::PendingPayment),
    command!("check_new_patient", NewPatientArgs => RegistrationCheck),
    command!("register_patient", NewPatientArgs => PendingWrite),
    command!("edit_patient", EditPatientArgs => Option<PendingWrite>),
    // Documents, billing's worklist, conflicts, audit log: `crate::desk_commands`.
    command!("open_document", frontdesk_core::documents::DocumentArgs => frontdesk_core::documents::DocumentView),
    command!("overdue_invoices", NoArgs => frontdesk_core::billing::OverdueList),
    command!("conflicts", NoArgs => Vec<frontdesk_core::conflicts::ConflictView>),
    command!("resolve_conflict", frontdesk_core::conflicts::ResolveConflictArgs => ()),
    command!("audit_log", frontdesk_core::audit_log::AuditQuery => frontdesk_core::audit_log::AuditPage),
    command!("audit_log_csv", frontdesk_core::audit_log::AuditQuery => String),
    // Updates (administrators): `crate::desk_commands`.
    command!("update_status", NoArgs => frontdesk_core::updates::UpdateView),
    command!("check_for_update", NoArgs => frontdesk_core::updates::UpdateView),
    command!("install_update", NoArgs => frontdesk_core::updates::UpdateView),
    // The appointment book: `crate::book_commands`.
    command!("book_view", frontdesk_core::appointment_book::BookViewArgs => frontdesk_core::appointment_book::BookView),
    command!("find_slots", frontdesk_core::appointment_book::SlotSearchArgs => Vec<frontdesk_core::appointment_book::FoundSlot>),
    command!("check_booking", frontdesk_core::appointment_book::BookingArgs => frontdesk_core::appointment_book::BookingCheck),
    command!("book_appointment", frontdesk_core::appointment_book::BookingArgs => frontdesk_core::book::PendingAppointment),
    command!("reschedule_appointment", frontdesk_core::appointment_book::RescheduleArgs => frontdesk_core::book::PendingAppointment),
    command!("set_appointment_status", frontdesk_core::appointment_book::StatusArgs => frontdesk_core::book::PendingAppointment),
    command!("cancel_appointment", frontdesk_core::appointment_book::CancelArgs => frontdesk_core::book::PendingAppointment),
    command!("day_sheet", frontdesk_core::appointment_book::BookViewArgs => frontdesk_core::appointment_book::DaySheetPdf),
    command!("waitlist", NoArgs => frontdesk_core::waitlist::WaitlistView),
    command!("add_to_waitlist", frontdesk_core::waitlist::WaitlistAddArgs => practice_studio::model::WaitlistEntry),
    command!("remove_from_waitlist", frontdesk_core::waitlist::WaitlistEntryArgs => practice_studio::model::WaitlistEntry),
    command!("slot_offers", NoArgs => Vec<frontdesk_core::waitlist::SlotOffer>),
    command!("dismiss_slot_offer", frontdesk_core::waitlist::SlotOfferArgs => ()),
    command!("book_from_waitlist", frontdesk_core::waitlist::WaitlistBookingArgs => frontdesk_core::book::PendingAppointment),
];

/// The commands that still answer while the desk is locked: none of them reads or writes patient
/// data. Every other command is refused with [`CommandErrorCode::Locked`] before its arguments
/// are read (and the core refuses them again on its own).
pub const ALLOWED_WHILE_LOCKED: &[&str] = &[
    "app_status",
    "configure_api",
    "session",
    "sign_in",
    "sign_in_with_browser",
    "switch_user",
    "sync_status",
    "lock_state",
    "lock",
    "unlock",
];

/// Runs one command by name with JSON arguments; the one entry point of both shells.
pub async fn dispatch(desk: &Desk, command: &str, args: Value) -> Result<Value, CommandError> {
    if !ALLOWED_WHILE_LOCKED.contains(&command) {
        desk.require_unlocked().await?;
    }
    match command {
        "app_status" => {
            let NoArgs {} = parse(args)?;
            respond(desk.app_status().await)
        }
        "configure_api" => {
            let args: ConfigureApiArgs = parse(args)?;
            respond(desk.configure_api(&args.api_url).await?)
        }
        "session" => {
            let NoArgs {} = parse(args)?;
            respond(desk.session().await)
        }
        "sign_in" => {
            let args: SignInArgs = parse(args)?;
            respond(desk.sign_in(&args.username, &args.password).await?)
        }
        "sign_in_with_browser" => {
            let NoArgs {} = parse(args)?;
            respond(desk.sign_in_with_browser().await?)
        }
        "switch_user" => {
            let NoArgs {} = parse(args)?;
            desk.switch_user().await;
            respond(())
        }
        "sign_out" => {
            let args: SignOutArgs = parse(args)?;
            respond(desk.sign_out(args.leave_pending).await?)
        }
        "device_data" => {
            let NoArgs {} = parse(args)?;
            respond(desk.device_data().await?)
        }
        "remove_device_data" => {
            let args: RemoveDeviceDataArgs = parse(args)?;
            respond(desk.remove_device_data(args.pending_seen).await?)
        }
        "sync_status" => {
            let NoArgs {} = parse(args)?;
            respond(desk.sync_status().await?)
        }
        "lock_state" => {
            let NoArgs {} = parse(args)?;
            respond(desk.lock_view().await?)
        }
        "lock" => {
            let NoArgs {} = parse(args)?;
            respond(desk.lock_now().await?)
        }
        "unlock" => {
            let args: UnlockArgs = parse(args)?;
            respond(desk.unlock(&args.secret).await?)
        }
        "touch" => {
            let NoArgs {} = parse(args)?;
            respond(desk.touch().await?)
        }
        "set_unlock_pin" => {
            let args: PinArgs = parse(args)?;
            respond(desk.set_unlock_pin(&args.pin).await?)
        }
        "search_patients" => {
            let args: SearchArgs = parse(args)?;
            respond(desk.search_patients(&args.query).await?)
        }
        "recent_patients" => {
            let NoArgs {} = parse(args)?;
            respond(desk.recent_patients().await?)
        }
        "open_chart" => {
            let args: PatientArgs = parse(args)?;
            respond(desk.open_chart(&args.patient_id).await?)
        }
        "refresh_chart" => {
            let args: PatientArgs = parse(args)?;
            respond(desk.refresh_chart(&args.patient_id).await?)
        }
        "patient_appointments" => {
            let args: PatientArgs = parse(args)?;
            respond(desk.patient_appointments(&args.patient_id).await?)
        }
        "patient_records" => {
            let args: PatientArgs = parse(args)?;
            respond(desk.patient_records(&args.patient_id).await?)
        }
        "open_record" => {
            let args: RecordArgs = parse(args)?;
            respond(desk.open_record(&args.record_id).await?)
        }
        "patient_invoices" => {
            let args: PatientArgs = parse(args)?;
            respond(desk.patient_invoices(&args.patient_id).await?)
        }
        "open_invoice" => {
            let args: InvoiceArgs = parse(args)?;
            respond(desk.open_invoice(&args.invoice_id).await?)
        }
        "take_payment" => {
            let args: TakePaymentArgs = parse(args)?;
            respond(desk.take_payment(&args.invoice_id, &args.payment).await?)
        }
        "check_new_patient" => {
            let args: NewPatientArgs = parse(args)?;
            respond(desk.check_new_patient(&args.patient).await?)
        }
        "edit_patient" => {
            let args: EditPatientArgs = parse(args)?;
            respond(
                desk.edit_patient(&args.patient_id, &args.patient, args.version_read)
                    .await?,
            )
        }
        "register_patient" => {
            let args: NewPatientArgs = parse(args)?;
            respond(desk.register_patient(&args.patient).await?)
        }
        book if crate::book_commands::handles(book) => {
            crate::book_commands::dispatch(desk, book, args).await
        }
        other => match crate::desk_commands::dispatch(desk, other, args).await {
            Some(result) => result,
            None => Err(CommandError::new(
                CommandErrorCode::UnknownCommand,
                format!("there is no command {other:?}"),
            )),
        },
    }
}

pub(crate) fn parse<T: DeserializeOwned>(args: Value) -> Result<T, CommandError> {
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    serde_json::from_value(args).map_err(|e| {
        CommandError::new(
            CommandErrorCode::InvalidInput,
            format!("the command's arguments are not valid: {e}"),
        )
    })
}

pub(crate) fn respond<T: Serialize>(result: T) -> Result<Value, CommandError> {
    serde_json::to_value(result).map_err(|e| {
        CommandError::new(
            CommandErrorCode::Internal,
            format!("the answer could not be encoded: {e}"),
        )
    })
}
