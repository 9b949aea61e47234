from django import forms

from .imports import MAX_IDS
from .models import DESCRIPTION_MAX, NAME_MAX, NOTE_MAX, Collection


class CollectionForm(forms.ModelForm):
    class Meta:
        model = Collection
        fields = ["name", "description", "visibility"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3, "maxlength": DESCRIPTION_MAX}),
            "visibility": forms.RadioSelect,
        }
        help_texts = {
            "description": "Optional: what the collection is for. Plain text.",
        }

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the collection a name.")
        return name[:NAME_MAX]


class NoteForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Markdown, with math between $ signs.",
    )


class LibraryFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=300, label="Search your library")
    cat = forms.RegexField(
        required=False, regex=r"^[A-Za-z-]+(\.[A-Za-z-]+)?(\.\*)?$", max_length=32
    )
    code = forms.BooleanField(required=False, label="Has code")
    unread = forms.BooleanField(required=False, label="Unread only")

    @property
    def has_filters(self):
        data = self.cleaned_data
        return bool(data.get("q") or data.get("cat") or data.get("code") or data.get("unread"))


class ImportForm(forms.Form):
    ids = forms.CharField(
        required=False,
        label="arXiv ids or links",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocapitalize": "off"}),
        help_text=f"One per line, at most {MAX_IDS}: 2406.12345, hep-th/9901001 or "
        "https://arxiv.org/abs/2406.12345.",
    )
    bibtex = forms.FileField(
        required=False,
        label="or a BibTeX file",
        help_text="A .bib file of at most 1 MB; entries are matched by their arXiv id "
        "(eprint, an arXiv DOI or link).",
        widget=forms.ClearableFileInput(attrs={"accept": ".bib,.bibtex,.txt,text/x-bibtex"}),
    )
    collection = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Also add them to"
    )

    def __init__(self, *args, collections=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collection"].choices = [("", "Only my library")] + [
            (c.pk, c.name) for c in collections
        ]

    def clean(self):
        data = super().clean()
        if not data.get("ids", "").strip() and not data.get("bibtex"):
            raise forms.ValidationError("Paste arXiv ids or links, or choose a BibTeX file.")
        return data
