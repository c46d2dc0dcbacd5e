"""Every kind of audit event, named once.

The value is what the trail stores in ``AuditEvent.action`` (and what the hash covers), so a value never
changes once events exist; a new kind of event is a new member.
"""

from enum import StrEnum


class AuditAction(StrEnum):
    # registry: organisations, people, patients
    PHARMACY_CREATE = "pharmacy.create"
    PHARMACY_UPDATE = "pharmacy.update"
    CENTRE_CREATE = "centre.create"
    CENTRE_UPDATE = "centre.update"
    DESIGNATION_CREATE = "designation.create"
    DESIGNATION_END = "designation.end"
    AUTHORISATION_GRANT = "authorisation.grant"
    AUTHORISATION_END = "authorisation.end"
    STAFF_CREATE = "staff.create"
    STAFF_BOOTSTRAP = "staff.bootstrap"
    # An account created by invitation (the link's token is never stored), its acceptance, its deactivation.
    STAFF_INVITE = "staff.invite"
    STAFF_INVITATION_ACCEPT = "staff.invitation_accept"
    STAFF_DEACTIVATE = "staff.deactivate"
    # A person turning the e-mail copy of their notifications on or off (their own setting).
    STAFF_EMAIL_PREFERENCE = "staff.email_preference"
    PATIENT_CREATE = "patient.create"
    # The identity's values are never in the event: only which fields were recorded, or the reveal's reason.
    PATIENT_IDENTITY_RECORD = "patient.identity_record"
    PATIENT_IDENTITY_REVEAL = "patient.identity_reveal"
    # sign-in and credentials (the chain is the user's)
    LOGIN_FAILURE = "auth.login_failure"
    LOGIN_LOCKOUT = "auth.lockout"
    PASSWORD_CHANGE = "auth.password_change"  # noqa: S105 - an event name
    TOKEN_REVOKE = "auth.token_revoke"  # noqa: S105 - an event name
    OTP_ENROL = "auth.otp_enrol"
    # An administrator removed a person's authenticator and backup codes (lost phone): they enrol again.
    OTP_RESET = "auth.otp_reset"
    # prescriptions: the listing's shortage condition, the prescription and its course
    SHORTAGE_RECORD = "shortage.record"
    SHORTAGE_UPDATE = "shortage.update"
    PRESCRIPTION_SUBMIT = "prescription.submit"
    # A submission refused because the patient has an active course at a centre the prescriber cannot see.
    PRESCRIPTION_ACTIVE_COURSE_ELSEWHERE = "prescription.active_course_elsewhere"
    PRESCRIPTION_DISPENSE = "prescription.dispense"
    PRESCRIPTION_REFUSE_DISPENSING = "prescription.refuse_dispensing"
    # The pharmacy keeps a waiting request on hold (or changes the hold), and releases it (by hand or by dispensing).
    PRESCRIPTION_HOLD = "prescription.hold"
    PRESCRIPTION_HOLD_RELEASE = "prescription.hold_release"
    PRESCRIPTION_ADMINISTER = "prescription.administer"
    PRESCRIPTION_STOP = "prescription.stop"
    # The daily task closed a course whose 10-day window was over (the actor is the system).
    PRESCRIPTION_WINDOW_CLOSE = "prescription.window_close"
    PRESCRIPTION_ADVERSE_EVENT = "prescription.adverse_event"
    PRESCRIPTION_LAB_RESULT = "prescription.lab_result"
    PRESCRIPTION_OUTCOME = "prescription.outcome"
    PRESCRIPTION_CONCOMITANT_MEDICATION = "prescription.concomitant_medication"
    LAB_RESULT_ENTERED_IN_ERROR = "prescription.lab_result_entered_in_error"
    ADVERSE_EVENT_ENTERED_IN_ERROR = "prescription.adverse_event_entered_in_error"
    OUTCOME_ENTERED_IN_ERROR = "prescription.outcome_entered_in_error"
    ADMINISTRATION_ENTERED_IN_ERROR = "prescription.administration_entered_in_error"
    DISPENSATION_ENTERED_IN_ERROR = "prescription.dispensation_entered_in_error"
    CONCOMITANT_MEDICATION_ENTERED_IN_ERROR = "prescription.concomitant_medication_entered_in_error"
    # A serious adverse event marked as reported to the national pharmacovigilance network (issue 21).
    ADVERSE_EVENT_REPORTED = "prescription.adverse_event_reported"
    # A FHIR bulk export asked for (issue 21).
    FHIR_BULK_EXPORT = "fhir.bulk_export"
    # stock of the pharmacies (issue 20): one event per movement of a lot, per step of a transfer
    STOCK_SETTING_UPDATE = "stock.setting_update"
    STOCK_RECEIPT = "stock.receipt"
    STOCK_DISPENSING = "stock.dispensing"
    STOCK_RETURN = "stock.return"
    STOCK_WRITE_OFF = "stock.write_off"
    STOCK_ADJUSTMENT = "stock.adjustment"
    STOCK_TRANSFER_OUT = "stock.transfer_out"
    STOCK_TRANSFER_IN = "stock.transfer_in"
    STOCK_TRANSFER_REQUEST = "stock.transfer_request"
    STOCK_TRANSFER_APPROVE = "stock.transfer_approve"
    STOCK_TRANSFER_REJECT = "stock.transfer_reject"
    SYRINGE_PRICE_RECORD = "stock.price_record"
    FHIR_BULK_EXPORT_DELETE = "fhir.bulk_export_delete"
    # reports
    REPORT_REQUEST = "report.request"
    REPORT_FINISH = "report.finish"
    REPORT_FAIL = "report.fail"
    REPORT_FILE_DOWNLOAD = "report.file_download"
    # the quarterly transmission to AIFA (the approval is the signature: its manifest's SHA-256 is in the event)
    SUBMISSION_OPEN = "submission.open"
    SUBMISSION_APPROVE = "submission.approve"
    SUBMISSION_REOPEN = "submission.reopen"
    SUBMISSION_ACCEPT = "submission.accept"
    SUBMISSION_RETURN = "submission.return"

    @classmethod
    def entered_in_error(cls, kind: str) -> "AuditAction":
        """The correction event of a kind of clinical record (``lab_result``, ``dispensation``, …)."""
        return cls(f"prescription.{kind}_entered_in_error")
