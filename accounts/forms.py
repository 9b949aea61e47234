from django import forms

from .models import AuthorClaim, User


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name"]
        labels = {"display_name": "Display name"}
        help_texts = {
            "display_name": "Shown on your profile and next to your votes. Leave it empty "
            "to show your username."
        }


class DeleteAccountForm(forms.Form):
    """A deliberate step: type the username. Who may delete was settled before the
    form is shown (accounts.views.delete_account asks allauth to reauthenticate)."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["username"] = forms.CharField(
            label=f"Type your username ({user.username}) to confirm",
            widget=forms.TextInput(
                attrs={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}
            ),
        )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if username.strip() != self.user.username:
            raise forms.ValidationError("That is not your username.")
        return username


class ClaimForm(forms.ModelForm):
    class Meta:
        model = AuthorClaim
        fields = ["note"]
        labels = {"note": "Anything the moderators should know (optional)"}
        widgets = {"note": forms.Textarea(attrs={"rows": 3, "maxlength": 2000})}
