"""HTTP API of eligibility checks and prescriptions (docs/api.md). Thin: parse, call one service or selector, render."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from registry.access_log import access_log_record
from registry.errors import ErrorCode, NotFound
from registry.models import AccessKind, Role
from registry.patient_identity import identity_displayed, identity_for, may_reveal_identity, patient_identity_reveal
from registry.permissions import PermissionDenied, ensure_role

from .. import permissions, selectors, services
from ..course import workflow
from ..eligibility import rendered_verdict
from ..idempotency import IdempotencyKeyReused, request_fingerprint
from ..models import PrescriptionStatus
from ..pagination import KeysetPagination, OldestFirstPagination
from .eligibility_serializers import EligibilityCheckSerializer
from .serializers import (
    DATE_OUT_OF_RANGE,
    VERDICT_TEXTS,
    AdministrationInputSerializer,
    AdministrationSerializer,
    AdverseEventInputSerializer,
    AdverseEventSerializer,
    ConcomitantMedicationInputSerializer,
    ConcomitantMedicationSerializer,
    DispensationInputSerializer,
    DispensationSerializer,
    DispensingHoldSerializer,
    DispensingQueueFilterSerializer,
    DispensingRefusalSerializer,
    EnteredInErrorSerializer,
    LabResultInputSerializer,
    LabResultSerializer,
    OutcomeInputSerializer,
    OutcomeSerializer,
    PatientRefSerializer,
    PatientRevealSerializer,
    PrescriptionDetailSerializer,
    PrescriptionFilterSerializer,
    PrescriptionListSerializer,
    PrescriptionSubmitSerializer,
    StopInputSerializer,
)

VerdictSerializer = inline_serializer(
    "EligibilityVerdict",
    {
        "submission_blockers": inline_serializer(
            "SubmissionBlocker",
            {
                "code": serializers.CharField(help_text="NOT_AUTHORISED (403 at submission) or ACTIVE_COURSE (409)"),
                "message": serializers.CharField(),
                "prescription": serializers.CharField(
                    required=False, help_text="The active prescription, only when the caller may see it."
                ),
                "prescription_url": serializers.CharField(required=False),
            },
            many=True,
            required=False,
            help_text=(
                "What would refuse the submission itself although the criteria pass; present only when the check "
                "names the patient's fiscal_code or a centre (empty list: nothing blocks)."
            ),
        ),
        "eligible": serializers.BooleanField(),
        "criteria_version": serializers.CharField(),
        "pao2_fio2_ratio": serializers.FloatField(),
        "results": inline_serializer(
            "CriterionResult",
            {
                "code": serializers.CharField(),
                "outcome": serializers.ChoiceField(choices=["pass", "fail", "warn", "info"]),
                "message": serializers.CharField(),
                "source": serializers.CharField(),
            },
            many=True,
        ),
    },
)
CONFLICT = OpenApiResponse(
    inline_serializer("Conflict", {"detail": serializers.CharField(), "code": serializers.CharField()}),
    description="the request conflicts with the prescription's state",
)


def _valid(serializer_class, data, **context):
    return _valid_serializer(serializer_class(data=data, context=context))


def _valid_serializer(serializer):
    try:
        serializer.is_valid(raise_exception=True)
    except OverflowError:
        # DRF lets a naive datetime at the calendar's edge ("0001-01-01T00:00") overflow: a 400, not a 500.
        raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [DATE_OUT_OF_RANGE]}) from None
    return serializer.validated_data


def _as_json(data) -> dict:
    return services.plain_json(data)


class EligibilityCheckView(APIView):
    """Dry run of the L.648 criteria: every criterion's outcome, nothing stored. Prescribers only.

    With the patient's fiscal code or a centre, also what would refuse the submission itself
    (``submission_blockers``).
    """

    @extend_schema(request=EligibilityCheckSerializer, responses={200: VerdictSerializer})
    def post(self, request):
        ensure_role(request.user, Role.PRESCRIBER)
        now = timezone.now()
        serializer = EligibilityCheckSerializer(data=request.data, context={"now": now})
        _valid_serializer(serializer)
        answer = services.eligibility_check_answer(
            user=request.user, data=serializer.validated_data, now=now, blockers=serializer.asks_for_blockers
        )
        return Response(answer)


def _submission_response(request):
    """How the API renders the prescription a submission has just recorded (stored with an Idempotency-Key)."""

    def respond(prescription) -> tuple[int, dict]:
        # Its author sees it even if no longer authorised today (a late registration): never an empty 201.
        view = selectors.submitted_view(user=request.user, prescription=prescription)
        # The verdict as stored (texts, not messages), so that a retry replayed from the stored response is
        # rendered in its own request's language: ``_submitted`` renders it for each response.
        body = PrescriptionDetailSerializer(view, context={VERDICT_TEXTS: True}).data
        return status.HTTP_201_CREATED, _as_json(body)

    return respond


def _submitted(code: int, body: dict) -> Response:
    """A submission's response, first or replayed: the verdict's messages in this request's language (a response
    stored before verdict texts were structured already holds its messages, shown as stored)."""
    if isinstance(body.get("eligibility"), dict):
        body = {**body, "eligibility": rendered_verdict(body["eligibility"])}
    return Response(body, status=code)


class PrescriptionListCreateView(generics.GenericAPIView):
    serializer_class = PrescriptionListSerializer
    pagination_class = KeysetPagination

    def get_queryset(self):
        filters = _valid(PrescriptionFilterSerializer, _query_dict(self.request.query_params))
        return selectors.prescription_list(user=self.request.user, filters=filters)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, many=True, enum=PrescriptionStatus.values),
            OpenApiParameter("centre", OpenApiTypes.UUID),
            OpenApiParameter("region", str, description="Ministry of Health code, e.g. 030"),
            OpenApiParameter("submitted_from", OpenApiTypes.DATE),
            OpenApiParameter("submitted_to", OpenApiTypes.DATE),
            OpenApiParameter(
                "q",
                str,
                description="a fiscal code (matched through its pseudonym) or a prescription number; for the "
                "centres' staff also a family name or an admission number (exact, through a keyed index)",
            ),
        ],
        responses=PrescriptionListSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            PrescriptionListSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        request=PrescriptionSubmitSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses={
            201: PrescriptionDetailSerializer,
            409: CONFLICT,
            422: OpenApiResponse(description="key reused"),
        },
    )
    def post(self, request):
        ensure_role(request.user, Role.PRESCRIBER)
        data = _valid(PrescriptionSubmitSerializer, request.data)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 200:
            raise ValidationError({"Idempotency-Key": [_("At most 200 characters.")]})
        try:
            submission = services.prescription_submit_request(
                prescriber=request.user,
                data=data,
                respond=_submission_response(request),
                idempotency_key=key,
                fingerprint=request_fingerprint(request.data) if key else "",
            )
        except IdempotencyKeyReused:
            return Response(
                {
                    "detail": _("This Idempotency-Key was used with another request body."),
                    "code": ErrorCode.IDEMPOTENCY_KEY_REUSED,
                },
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return _submitted(*submission.response)


class DispensingQueueView(generics.GenericAPIView):
    """The pharmacist's queue (as the page): prescriptions still waiting for syringes, oldest first, paginated."""

    serializer_class = PrescriptionListSerializer
    pagination_class = OldestFirstPagination

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "hold", str, enum=["yes", "no"], description="only the requests on hold (yes) or not on hold (no)"
            )
        ],
        responses=PrescriptionListSerializer(many=True),
    )
    def get(self, request):
        permissions.ensure_may_work_on(request.user, workflow.DISPENSE)
        hold = _valid(DispensingQueueFilterSerializer, {k: v for k, v in request.query_params.items() if k == "hold"})
        on_hold = {"yes": True, "no": False}.get(hold.get("hold"))
        page = self.paginate_queryset(selectors.dispensing_queue(user=request.user, on_hold=on_hold))
        return self.get_paginated_response(
            PrescriptionListSerializer(page, many=True, context={"request": request}).data
        )


def _query_dict(params) -> dict:
    data = {key: params.get(key) for key in params if key not in ("status", "page", "cursor")}
    if "status" in params:
        data["status"] = [v for value in params.getlist("status") for v in value.split(",") if v]
    return data


def _detail_response(request, prescription_id, code=status.HTTP_200_OK):
    view = selectors.prescription_view(user=request.user, prescription_id=prescription_id)
    if view is None:
        raise NotFound()
    access_log_record(user=request.user, obj=view, kind=AccessKind.PRESCRIPTION_API)
    return Response(PrescriptionDetailSerializer(view, context={"request": request}).data, status=code)


class PrescriptionDetailView(APIView):
    @extend_schema(responses=PrescriptionDetailSerializer)
    def get(self, request, prescription_id):
        return _detail_response(request, prescription_id)


class _ActionView(APIView):
    """POST an action: 404 outside scope, 403 for the wrong role or centre, 400 bad input, 409 wrong state."""

    action_name: str
    input_serializer: type[serializers.Serializer]

    def post(self, request, prescription_id):
        prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
        permissions.ensure_may(request.user, prescription, self.action_name)
        data = _valid(self.input_serializer, request.data)
        return self.perform(request, prescription, data)

    def perform(self, request, prescription, data):
        raise NotImplementedError


@extend_schema_view(
    post=extend_schema(request=DispensationInputSerializer, responses={201: DispensationSerializer, 409: CONFLICT})
)
class DispensationView(_ActionView):
    action_name = workflow.DISPENSE
    input_serializer = DispensationInputSerializer

    def perform(self, request, prescription, data):
        dispensation = services.dispensation_record(pharmacist=request.user, prescription=prescription, **data)
        return Response(DispensationSerializer(dispensation).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(
        request=DispensingRefusalSerializer, responses={200: PrescriptionDetailSerializer, 409: CONFLICT}
    )
)
class DispensingRefusalView(_ActionView):
    """Refuse the request for good, with a category: it is cancelled and the prescriber told."""

    action_name = workflow.REFUSE
    input_serializer = DispensingRefusalSerializer

    def perform(self, request, prescription, data):
        services.dispensing_refuse(
            pharmacist=request.user, prescription=prescription, category=data["category"], note=data["note"]
        )
        return _detail_response(request, prescription.pk)


@extend_schema_view(
    post=extend_schema(request=DispensingHoldSerializer, responses={200: PrescriptionDetailSerializer, 409: CONFLICT}),
    delete=extend_schema(request=None, responses={200: PrescriptionDetailSerializer, 409: CONFLICT}),
)
class DispensingHoldView(_ActionView):
    """POST: keep a waiting request on hold (still ``awaiting_dispensing``; the prescriber is told). DELETE:
    release it (a dispensation releases it too). 409 in any other status."""

    action_name = workflow.HOLD
    input_serializer = DispensingHoldSerializer

    def perform(self, request, prescription, data):
        services.dispensing_hold(pharmacist=request.user, prescription=prescription, **data)
        return _detail_response(request, prescription.pk)

    def delete(self, request, prescription_id):
        prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
        permissions.ensure_may(request.user, prescription, workflow.RELEASE_HOLD)
        services.dispensing_hold_release(pharmacist=request.user, prescription=prescription)
        return _detail_response(request, prescription.pk)


@extend_schema_view(
    post=extend_schema(request=AdministrationInputSerializer, responses={201: AdministrationSerializer, 409: CONFLICT})
)
class AdministrationView(_ActionView):
    action_name = workflow.ADMINISTER
    input_serializer = AdministrationInputSerializer

    def perform(self, request, prescription, data):
        administration = services.administration_record(user=request.user, prescription=prescription, **data)
        body = AdministrationSerializer(administration).data
        body["prescription_status"] = administration.prescription.status
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(request=StopInputSerializer, responses={200: PrescriptionDetailSerializer, 409: CONFLICT})
)
class StopView(_ActionView):
    action_name = workflow.STOP
    input_serializer = StopInputSerializer

    def perform(self, request, prescription, data):
        services.prescription_stop(prescriber=request.user, prescription=prescription, **data)
        return _detail_response(request, prescription.pk)


@extend_schema_view(
    post=extend_schema(request=AdverseEventInputSerializer, responses={201: AdverseEventSerializer, 409: CONFLICT})
)
class AdverseEventView(_ActionView):
    action_name = workflow.ADVERSE_EVENT
    input_serializer = AdverseEventInputSerializer

    def perform(self, request, prescription, data):
        event = services.adverse_event_record(user=request.user, prescription=prescription, **data)
        return Response(AdverseEventSerializer(event).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(request=LabResultInputSerializer, responses={201: LabResultSerializer, 409: CONFLICT})
)
class LabResultView(_ActionView):
    action_name = workflow.LAB_RESULT
    input_serializer = LabResultInputSerializer

    def perform(self, request, prescription, data):
        from ..course.alerts import lab_alert

        result = services.lab_result_record(user=request.user, prescription=prescription, **data)
        body = LabResultSerializer(result).data
        alert = lab_alert(result)
        body["alerts"] = [alert.as_dict()] if alert else []
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(request=OutcomeInputSerializer, responses={201: OutcomeSerializer, 409: CONFLICT})
)
class OutcomeView(_ActionView):
    action_name = workflow.OUTCOME
    input_serializer = OutcomeInputSerializer

    def perform(self, request, prescription, data):
        outcome = services.outcome_record(prescriber=request.user, prescription=prescription, **data)
        return Response(OutcomeSerializer(outcome).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(
        request=ConcomitantMedicationInputSerializer, responses={201: ConcomitantMedicationSerializer, 409: CONFLICT}
    )
)
class ConcomitantMedicationView(_ActionView):
    """A medicine started during the course, classified by the catalogue; 201 with the alerts it raised."""

    action_name = workflow.COMEDICATION
    input_serializer = ConcomitantMedicationInputSerializer

    def perform(self, request, prescription, data):
        from ..course.alerts import comedication_alert

        record = services.concomitant_medication_record(user=request.user, prescription=prescription, **data)
        body = ConcomitantMedicationSerializer(record).data
        alert = comedication_alert(record)
        body["alerts"] = [alert.as_dict()] if alert else []
        return Response(body, status=status.HTTP_201_CREATED)


class EnteredInErrorView(APIView):
    """Mark a dose, dispensation, lab result, adverse event, outcome or concomitant medication as entered in error
    (then record anew)."""

    @extend_schema(request=EnteredInErrorSerializer, responses={200: PrescriptionDetailSerializer})
    def post(self, request, prescription_id):
        prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
        # 403 before 400, as for the other actions: only the centre's clinicians and its pharmacy
        # correct its records (the service narrows each kind to the role that records it).
        if not permissions.may(request.user, prescription, workflow.DISPENSE):
            permissions.ensure_may(request.user, prescription, workflow.LAB_RESULT)
        data = _valid(EnteredInErrorSerializer, request.data)
        services.record_mark_entered_in_error(
            user=request.user,
            prescription=prescription,
            kind=data["kind"],
            record_id=data["record"],
            reason=data["reason"],
        )
        return _detail_response(request, prescription.pk)


class PatientRevealView(APIView):
    """A regional officer of the region reads the patient's identity, saying why: audited and access-logged.
    404 outside the caller's scope, 403 for anyone else, 400 without a reason."""

    @extend_schema(request=PatientRevealSerializer, responses={200: PatientRefSerializer})
    def post(self, request, prescription_id):
        prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
        if not may_reveal_identity(request.user, prescription):
            raise PermissionDenied(_("Only a regional officer of the region may reveal the patient's identity."))
        data = _valid(PatientRevealSerializer, request.data)
        patient = patient_identity_reveal(user=request.user, prescription=prescription, reason=data["reason"])
        return Response(patient)


class PrescriptionFhirView(APIView):
    """The prescription as a FHIR R4 ``Bundle`` (prescriptions.interop.fhir): anyone who may read it, 404 otherwise."""

    def get_renderers(self):
        from rest_framework.renderers import JSONRenderer

        from ..interop.fhir import FhirJsonRenderer

        # Errors in plain JSON, as everywhere in the API; the bundle itself is sent as application/fhir+json.
        return [JSONRenderer(), FhirJsonRenderer()]

    def handle_exception(self, exc):
        from rest_framework.renderers import JSONRenderer

        response = super().handle_exception(exc)
        # Even when the client asked for ?format=fhir: an error is not a FHIR resource.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(responses={(200, "application/fhir+json"): OpenApiTypes.OBJECT})
    def get(self, request, prescription_id):
        from ..interop.fhir import FHIR_JSON, prescription_bundle

        view = selectors.prescription_view(user=request.user, prescription_id=prescription_id)
        if view is None:
            raise NotFound()
        access_log_record(user=request.user, obj=view, kind=AccessKind.PRESCRIPTION_FHIR)
        # Name and fiscal code for the treating centre's staff only; never in a bundle anyone else receives.
        identity = identity_for(user=request.user, prescription=view)
        if identity is not None:
            identity_displayed(request, view)
        return Response(prescription_bundle(view, identity=identity), content_type=FHIR_JSON)
