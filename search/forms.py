from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from papers.dates import FIRST_YEAR, LAST_YEAR

from . import fulltext


class SearchForm(forms.Form):
    """The /search/ query string: q, optional published-date range, category, order."""

    suggested_categories = (
        "cs.AI cs.CL cs.CV cs.LG cs.RO cs.CR cs.IR cs.NE cs.* stat.ML math.* physics.* "
        "hep-th quant-ph astro-ph.* cond-mat.* q-bio.* eess.*"
    ).split()

    q = forms.CharField(required=False, strip=True)
    since = forms.DateField(required=False, label="Published from", input_formats=["%Y-%m-%d"])
    until = forms.DateField(required=False, label="Published until", input_formats=["%Y-%m-%d"])
    cat = forms.CharField(required=False, strip=True, label="Category")
    sort = forms.ChoiceField(
        required=False,
        choices=[("relevance", "Best match"), ("newest", "Newest")],
        initial="relevance",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A NUL byte in the words is dropped by fulltext.clean_query (PostgreSQL refuses
        # it), not refused: a pasted query still searches. In filters it is an error.
        self.fields["q"].validators = [
            v
            for v in self.fields["q"].validators
            if not isinstance(v, ProhibitNullCharactersValidator)
        ]

    def clean_q(self):
        self.is_shortened = fulltext.is_shortened(self.cleaned_data["q"])
        return fulltext.clean_query(self.cleaned_data["q"])

    def _clean_year(self, name):
        day = self.cleaned_data[name]
        if day and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise forms.ValidationError(f"Pick a date between {FIRST_YEAR} and {LAST_YEAR}.")
        return day

    def clean_since(self):
        return self._clean_year("since")

    def clean_until(self):
        return self._clean_year("until")

    def clean_cat(self):
        category = self.cleaned_data["cat"]
        if category and not fulltext.is_category(category):
            raise forms.ValidationError(
                "Use an arXiv category such as cs.LG or hep-th, or a whole archive such as cs.*."
            )
        return category

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    @property
    def has_filters(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in ("since", "until", "cat"))
