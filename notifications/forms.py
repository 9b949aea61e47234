from django import forms

from .models import NotificationSettings


class EmailSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = ["email_reply", "email_mention", "email_moderation"]
        labels = {
            "email_reply": "Email me when someone replies to my comments",
            "email_mention": "Email me when someone mentions me",
            "email_moderation": "Email me when a moderator hides my comment",
        }
