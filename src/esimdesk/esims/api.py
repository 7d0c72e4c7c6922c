"""Device compatibility API. No ``from __future__ import annotations`` here: django-ninja
reads the annotations at import time to build the pydantic schemas."""

from typing import Annotated

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from esimdesk.core.api.schemas import refused_as
from esimdesk.esims import devices

router = Router(tags=["devices"])


class CompatibilityQuery(Schema):
    model: str | None = Field(None, max_length=100, examples=["iPhone 15 Pro"])
    user_agent: str | None = Field(None, max_length=1000)
    region: Annotated[str | None, Field(pattern=r"^[A-Za-z]{2}$", examples=["CN"]),
                      refused_as("invalid_region",
                                 _("The region must be a two-letter country code."))] = None
    eid: str | None = Field(None, max_length=64, description="32 digits")


class DeviceOut(Schema):
    brand: str
    model: str
    kind: str


class CompatibilityOut(Schema):
    verdict: str
    device: DeviceOut | None = None
    notes: list[str]
    eid_valid: bool | None = None


@router.get("/devices/compatibility", response={200: CompatibilityOut},
            summary="Does a device support eSIM?")
def compatibility(request: HttpRequest, query: Query[CompatibilityQuery]) -> dict:
    """Whether a phone, tablet or watch can take an eSIM, before buying. No sign-in needed.

    Give ``model`` (a marketing name such as ``iPhone 15 Pro Max`` or ``Galaxy S23``, or a
    model number such as ``SM-S911B`` or ``A2848``; case, spaces and the brand are optional)
    or ``user_agent`` (a browser User-Agent: Android ones name the model, iPhone ones do
    not). ``region`` (ISO 3166 alpha-2, where the device was sold) applies regional
    exceptions: many iPhones sold in mainland China, Hong Kong and Macao have no eSIM.

    ``verdict`` is ``supported``, ``not_supported``, ``depends`` (the answer depends on
    where it was sold or how it is used; see ``notes``) or ``unknown``. ``notes`` are in the
    language of the request and always remind that the device must not be carrier-locked.
    With ``eid`` (32 digits), ``eid_valid`` says whether its ISO 7064 check digits are right;
    otherwise it is null. Neither ``model`` nor ``user_agent`` answers 422
    ``model_required``; a bad ``region`` answers 422 ``invalid_region``."""
    verdict = devices.check(model=query.model, user_agent=query.user_agent,
                            region=query.region, eid=query.eid)
    return verdict.as_dict()
