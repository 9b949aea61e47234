from django import forms

from .models import NotificationSettings


class EmailSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = ["email_reply", "email_mention", "email_moderation", "email_when"]
        labels = {
            "email_when": "Send these emails",
            "email_reply": "Email me when someone replies to my comments",
            "email_mention": "Email me when someone mentions me",
            "email_moderation": "Email me when a moderator hides my comment",
        }
        help_texts = {
            "email_when": "In your digest: the notifications not yet read when it goes out, "
            "if you get one (digest settings).",
        }
