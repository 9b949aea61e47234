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
    """Confirm with the password, or, for an account that has none (social sign-in
    only), by typing the username."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user.has_usable_password():
            self.fields["password"] = forms.CharField(
                label="Your password",
                strip=False,
                widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
            )
        else:
            self.fields["username"] = forms.CharField(
                label=f"Type your username ({user.username}) to confirm",
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
            )

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password

    def clean_username(self):
        username = self.cleaned_data["username"]
        if username != self.user.username:
            raise forms.ValidationError("That is not your username.")
        return username


class ClaimForm(forms.ModelForm):
    class Meta:
        model = AuthorClaim
        fields = ["note"]
        labels = {"note": "Anything the moderators should know (optional)"}
        widgets = {"note": forms.Textarea(attrs={"rows": 3, "maxlength": 2000})}
