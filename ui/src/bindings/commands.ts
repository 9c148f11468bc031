// Generated from src-tauri/src/commands.rs by `make bindings`. Do not edit.
import type { AppStatus } from "./AppStatus";
import type { AuditPage } from "./AuditPage";
import type { AuditQuery } from "./AuditQuery";
import type { Chart } from "./Chart";
import type { ChartAppointment } from "./ChartAppointment";
import type { ConfigureApiArgs } from "./ConfigureApiArgs";
import type { ConflictView } from "./ConflictView";
import type { DeviceData } from "./DeviceData";
import type { DocumentArgs } from "./DocumentArgs";
import type { DocumentView } from "./DocumentView";
import type { EditPatientArgs } from "./EditPatientArgs";
import type { Invoice } from "./Invoice";
import type { InvoiceArgs } from "./InvoiceArgs";
import type { LockView } from "./LockView";
import type { NewPatientArgs } from "./NewPatientArgs";
import type { NoArgs } from "./NoArgs";
import type { OverdueList } from "./OverdueList";
import type { PatientArgs } from "./PatientArgs";
import type { PatientMatch } from "./PatientMatch";
import type { PendingPayment } from "./PendingPayment";
import type { PendingWrite } from "./PendingWrite";
import type { PinArgs } from "./PinArgs";
import type { RecordArgs } from "./RecordArgs";
import type { RecordSummary } from "./RecordSummary";
import type { RecordView } from "./RecordView";
import type { RegistrationCheck } from "./RegistrationCheck";
import type { RemoveDeviceDataArgs } from "./RemoveDeviceDataArgs";
import type { ResolveConflictArgs } from "./ResolveConflictArgs";
import type { SearchArgs } from "./SearchArgs";
import type { SessionInfo } from "./SessionInfo";
import type { SignInArgs } from "./SignInArgs";
import type { SignOut } from "./SignOut";
import type { SignOutArgs } from "./SignOutArgs";
import type { SyncView } from "./SyncView";
import type { TakePaymentArgs } from "./TakePaymentArgs";
import type { UnlockArgs } from "./UnlockArgs";

/** Every desk command: its arguments and its result. */
export interface Commands {
  app_status: { args: NoArgs; result: AppStatus };
  configure_api: { args: ConfigureApiArgs; result: AppStatus };
  session: { args: NoArgs; result: SessionInfo | null };
  sign_in: { args: SignInArgs; result: SessionInfo };
  sign_in_with_browser: { args: NoArgs; result: SessionInfo };
  switch_user: { args: NoArgs; result: null };
  sign_out: { args: SignOutArgs; result: SignOut };
  device_data: { args: NoArgs; result: DeviceData };
  remove_device_data: { args: RemoveDeviceDataArgs; result: null };
  sync_status: { args: NoArgs; result: SyncView | null };
  lock_state: { args: NoArgs; result: LockView };
  lock: { args: NoArgs; result: null };
  unlock: { args: UnlockArgs; result: null };
  touch: { args: NoArgs; result: null };
  set_unlock_pin: { args: PinArgs; result: null };
  search_patients: { args: SearchArgs; result: Array<PatientMatch> };
  recent_patients: { args: NoArgs; result: Array<PatientMatch> };
  open_chart: { args: PatientArgs; result: Chart };
  refresh_chart: { args: PatientArgs; result: Chart };
  patient_appointments: { args: PatientArgs; result: Array<ChartAppointment> };
  patient_records: { args: PatientArgs; result: Array<RecordSummary> };
  open_record: { args: RecordArgs; result: RecordView };
  patient_invoices: { args: PatientArgs; result: Array<Invoice> };
  open_invoice: { args: InvoiceArgs; result: Invoice };
  take_payment: { args: TakePaymentArgs; result: PendingPayment };
  check_new_patient: { args: NewPatientArgs; result: RegistrationCheck };
  register_patient: { args: NewPatientArgs; result: PendingWrite };
  edit_patient: { args: EditPatientArgs; result: PendingWrite | null };
  open_document: { args: DocumentArgs; result: DocumentView };
  overdue_invoices: { args: NoArgs; result: OverdueList };
  conflicts: { args: NoArgs; result: Array<ConflictView> };
  resolve_conflict: { args: ResolveConflictArgs; result: null };
  audit_log: { args: AuditQuery; result: AuditPage };
  audit_log_csv: { args: AuditQuery; result: string };
}

export type CommandName = keyof Commands;

export const COMMAND_NAMES = ["app_status", "configure_api", "session", "sign_in", "sign_in_with_browser", "switch_user", "sign_out", "device_data", "remove_device_data", "sync_status", "lock_state", "lock", "unlock", "touch", "set_unlock_pin", "search_patients", "recent_patients", "open_chart", "refresh_chart", "patient_appointments", "patient_records", "open_record", "patient_invoices", "open_invoice", "take_payment", "check_new_patient", "register_patient", "edit_patient", "open_document", "overdue_invoices", "conflicts", "resolve_conflict", "audit_log", "audit_log_csv"] as const satisfies readonly CommandName[];
