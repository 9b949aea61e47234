from django import forms
from django.conf import settings

from .models import (
    DigestSubscription,
    frequency_choices,
    normalise_email,
    time_zone_names,
    validate_category,
)

Frequency = DigestSubscription.Frequency


def _clean_time_zone(value: str) -> str:
    return value if value in time_zone_names() else ""


class SubscribeForm(forms.Form):
    """The "Get trending papers in your inbox" box."""

    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(
            attrs={"placeholder": "you@example.org", "autocomplete": "email", "required": True}
        ),
    )
    frequency = forms.ChoiceField(
        choices=frequency_choices, initial=Frequency.DAILY, required=False, widget=forms.RadioSelect
    )
    # Filled in by the browser (Intl API) when scripts run; otherwise the site default.
    time_zone = forms.CharField(required=False, widget=forms.HiddenInput)
    # Left empty by people; bots that fill every field get a polite no-op.
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1"}))

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])

    def clean_frequency(self):
        return self.cleaned_data.get("frequency") or Frequency.DAILY

    def clean_time_zone(self):
        return _clean_time_zone(self.cleaned_data.get("time_zone", ""))

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


def _hour_choices():
    default = settings.DIGEST_SEND_HOUR
    return [("", f"Default ({default:02d}:00)")] + [(h, f"{h:02d}:00") for h in range(24)]


class DigestSettingsForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Email me the digest")
    frequency = forms.ChoiceField(
        choices=frequency_choices, initial=Frequency.DAILY, widget=forms.RadioSelect
    )
    send_hour = forms.TypedChoiceField(
        choices=_hour_choices,
        coerce=int,
        empty_value=None,
        required=False,
        label="Send at",
    )
    time_zone = forms.ChoiceField(
        choices=lambda: (
            [("", f"Default ({settings.DIGEST_TIME_ZONE})")] + [(z, z) for z in time_zone_names()]
        ),
        required=False,
        label="Time zone",
    )


class CategoryForm(forms.Form):
    category = forms.CharField(
        max_length=32,
        validators=[validate_category],
        widget=forms.TextInput(attrs={"placeholder": "cs.CL", "list": "arxiv-categories"}),
    )


class KeywordForm(forms.Form):
    keyword = forms.CharField(
        min_length=2,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "diffusion models"}),
    )

    def clean_keyword(self):
        return " ".join(self.cleaned_data["keyword"].split()).lower()
