from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.shortcuts import render

from .models import AuthorClaim, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (("Profile", {"fields": ("display_name",)}),)
    list_display = ("username", "email", "display_name", "is_staff", "date_joined")

    # Through User.delete_account, which takes the user's votes off the papers' counts
    # (a plain delete would cascade the vote rows and leave the counts one too high).
    def delete_model(self, request, obj):
        obj.delete_account()

    def delete_queryset(self, request, queryset):
        for user in queryset.order_by("pk"):
            user.delete_account()


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason (shown to the claimant)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


@admin.register(AuthorClaim)
class AuthorClaimAdmin(admin.ModelAdmin):
    """Moderators decide claims with the two actions; the status is not edited by hand
    so that approval always goes through AuthorClaim.approve (which sets the author)."""

    list_display = ("author", "user", "status", "created_at", "decided_at", "decided_by")
    list_filter = ("status",)
    search_fields = ("author__name", "user__username", "user__email")
    list_select_related = ("author", "user", "decided_by")
    raw_id_fields = ("user", "author")
    readonly_fields = ("status", "reason", "decided_by", "decided_at", "created_at")
    actions = ["approve_claims", "reject_claims"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Approve the selected claims")
    def approve_claims(self, request, queryset):
        approved = 0
        for claim in queryset.pending().select_related("author", "user"):
            try:
                claim.approve(moderator=request.user)
            except AuthorClaim.AlreadyClaimed:
                self.message_user(
                    request,
                    f"{claim.author} is already claimed; {claim.user}'s claim was left pending.",
                    messages.WARNING,
                )
            else:
                approved += 1
        self.message_user(request, f"Approved {approved} claim(s).", messages.SUCCESS)

    @admin.action(description="Reject the selected claims…")
    def reject_claims(self, request, queryset):
        form = RejectForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            rejected = 0
            for claim in queryset.active():
                claim.reject(moderator=request.user, reason=form.cleaned_data["reason"])
                rejected += 1
            self.message_user(request, f"Rejected {rejected} claim(s).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject claims",
            "claims": queryset.select_related("author", "user"),
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return render(request, "admin/accounts/authorclaim/reject.html", context)
