"""HTTP API of the quarterly transmission to AIFA (``/api/v1/quarterly-submissions/``). Thin: parse, call one
service or selector of ``reports.submissions``, render."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.auth.lockout import lockout_response

from . import submissions
from .models import SubmissionStatus
from .submission_checks import IncompleteCode


class SubmissionOpenSerializer(serializers.Serializer):
    region = serializers.CharField(max_length=3, help_text=_("Ministry of Health code (e.g. 030)."))
    year = serializers.IntegerField()
    quarter = serializers.IntegerField(min_value=1, max_value=4)


class SubmissionApproveSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        max_length=16, required=False, allow_blank=True, help_text=_("The second factor's code, if the user has one.")
    )
    statement_accepted = serializers.BooleanField(
        help_text=_("True: the signer accepts the statement naming region, quarter and version.")
    )


class SubmissionReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class SubmissionReviewSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class IncompleteItemSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[c.value for c in IncompleteCode])
    prescription = serializers.CharField()
    message = serializers.CharField()


class SignatureSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    signer = serializers.CharField(source="signer.username")
    signed_at = serializers.DateTimeField()
    meaning = serializers.CharField()
    statement = serializers.CharField()
    manifest_sha256 = serializers.CharField()
    report = serializers.UUIDField(source="run_id")


class SubmissionStatusField(serializers.ChoiceField):
    """Named ``SubmissionStatusEnum`` in the schema (SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES)."""

    def __init__(self, **kwargs):
        super().__init__(choices=SubmissionStatus.choices, **kwargs)


class SubmissionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    region = serializers.CharField(source="region_id")
    region_name = serializers.CharField(source="region.name")
    year = serializers.IntegerField()
    quarter = serializers.IntegerField()
    period_start = serializers.SerializerMethodField()
    period_end = serializers.SerializerMethodField()
    status = SubmissionStatusField()
    version = serializers.IntegerField()
    approved_at = serializers.DateTimeField(allow_null=True)
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True, default=None)
    manifest_sha256 = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField(help_text=_("The signed quarterly report of the latest approval."))
    reviewed_at = serializers.DateTimeField(allow_null=True)
    reviewed_by = serializers.CharField(source="reviewed_by.username", allow_null=True, default=None)
    review_comment = serializers.CharField()
    reopened_at = serializers.DateTimeField(allow_null=True)
    reopen_reason = serializers.CharField()

    def _signature(self, submission):
        cache = self.context.setdefault("_signatures", {})
        if submission.pk not in cache:
            cache[submission.pk] = submissions.submission_latest_signature(submission) if submission.version else None
        return cache[submission.pk]

    def get_period_start(self, submission) -> str:
        return submissions.quarter_bounds(submission.year, submission.quarter)[0].isoformat()

    def get_period_end(self, submission) -> str:
        return submissions.quarter_bounds(submission.year, submission.quarter)[1].isoformat()

    @extend_schema_field({"type": "string", "nullable": True})
    def get_manifest_sha256(self, submission) -> str | None:
        signature = self._signature(submission)
        return signature.manifest_sha256 if signature else None

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string", "format": "uri"}})
    def get_files(self, submission) -> dict:
        signature = self._signature(submission)
        if signature is None:
            return {}
        request = self.context.get("request")
        urls = {}
        for report_file in signature.run.files.all():
            url = reverse("api-report-file", kwargs={"run_id": signature.run_id, "fmt": report_file.format})
            urls[report_file.format] = request.build_absolute_uri(url) if request else url
        return urls


class SubmissionDetailSerializer(SubmissionSerializer):
    incomplete = serializers.SerializerMethodField()
    signatures = SignatureSerializer(many=True, source="signatures.all")
    manifest = serializers.SerializerMethodField()
    approval_statement = serializers.SerializerMethodField(
        help_text=_(
            "While open, for the region's officer: the statement that approving accepts (region, quarter and the "
            "version it would sign), to show the signer before they sign."
        )
    )

    @extend_schema_field({"type": "string", "nullable": True})
    def get_approval_statement(self, submission) -> str | None:
        request = self.context.get("request")
        if request is None or not submissions.may_approve(request.user, submission):
            return None
        return submissions.approval_statement(
            signer=request.user, submission=submission, version=submission.version + 1
        )

    @extend_schema_field(IncompleteItemSerializer(many=True))
    def get_incomplete(self, submission) -> list[dict]:
        return [item.as_dict() for item in submissions.submission_incomplete(submission)]

    @extend_schema_field({"type": "object", "nullable": True})
    def get_manifest(self, submission) -> dict | None:
        signature = self._signature(submission)
        return signature.manifest if signature else None


def _detail(request, submission, code=status.HTTP_200_OK) -> Response:
    return Response(SubmissionDetailSerializer(submission, context={"request": request}).data, status=code)


class SubmissionListCreateView(generics.GenericAPIView):
    """Open a region's quarter (the officer), or list the quarters the caller may see."""

    serializer_class = SubmissionSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, required=False),
            OpenApiParameter("quarter", int, required=False),
            OpenApiParameter("region", str, required=False),
        ],
        responses=SubmissionSerializer(many=True),
    )
    def get(self, request):
        filters = {}
        for name in ("year", "quarter"):
            raw = request.query_params.get(name)
            if raw:
                try:
                    filters[name] = int(raw)
                except ValueError:
                    raise serializers.ValidationError({name: [_("A whole number.")]}) from None
        rows = submissions.submission_list(user=request.user, region=request.query_params.get("region"), **filters)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(SubmissionSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        request=SubmissionOpenSerializer,
        responses={
            201: SubmissionDetailSerializer,
            200: SubmissionDetailSerializer,
            400: OpenApiResponse(description="bad region, year or quarter (or a quarter not begun)"),
            403: OpenApiResponse(description="not the region's officer"),
        },
    )
    def post(self, request):
        serializer = SubmissionOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        submission, created = submissions.submission_open(
            user=request.user, region_code=data["region"], year=data["year"], quarter=data["quarter"]
        )
        return _detail(request, submission, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SubmissionDetailView(APIView):
    @extend_schema(responses={200: SubmissionDetailSerializer, 404: OpenApiResponse(description="not in scope")})
    def get(self, request, submission_id):
        return _detail(request, submissions.submission_get(user=request.user, submission_id=submission_id))


class SubmissionApproveView(APIView):
    @extend_schema(
        request=SubmissionApproveSerializer,
        responses={
            200: SubmissionDetailSerializer,
            400: OpenApiResponse(description="the statement not accepted"),
            403: OpenApiResponse(description="wrong password or code, or not the region's officer"),
            409: OpenApiResponse(description="WRONG_STATUS: not open"),
            429: OpenApiResponse(description="locked out after too many wrong passwords or codes"),
        },
    )
    def post(self, request, submission_id):
        # Without the statement (or the password) a 400, before any password is checked.
        serializer = SubmissionApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            submission = submissions.submission_approve(
                user=request.user,
                submission_id=submission_id,
                statement_accepted=data["statement_accepted"],
                password=data["password"],
                otp=data.get("otp") or "",
                http_request=request._request,
            )
        except submissions.SignerLockedOut:
            return lockout_response(request._request)
        return _detail(request, submission)


class SubmissionReopenView(APIView):
    @extend_schema(request=SubmissionReopenSerializer, responses={200: SubmissionDetailSerializer})
    def post(self, request, submission_id):
        serializer = SubmissionReopenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = submissions.submission_reopen(
            user=request.user, submission_id=submission_id, reason=serializer.validated_data["reason"]
        )
        return _detail(request, submission)


class SubmissionAcceptView(APIView):
    @extend_schema(request=SubmissionReviewSerializer, responses={200: SubmissionDetailSerializer})
    def post(self, request, submission_id):
        serializer = SubmissionReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = submissions.submission_accept(
            user=request.user, submission_id=submission_id, comment=serializer.validated_data["comment"]
        )
        return _detail(request, submission)


class SubmissionReturnView(APIView):
    @extend_schema(request=SubmissionReviewSerializer, responses={200: SubmissionDetailSerializer})
    def post(self, request, submission_id):
        serializer = SubmissionReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = submissions.submission_return(
            user=request.user, submission_id=submission_id, comment=serializer.validated_data["comment"]
        )
        return _detail(request, submission)
