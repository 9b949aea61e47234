from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import DigestSubscription, FollowedAuthor, FollowedCategory, FollowedKeyword, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (("Profile", {"fields": ("display_name",)}),)
    list_display = ("username", "email", "display_name", "is_staff", "date_joined")


# --- Digests (issue 5) ------------------------------------------------------------------


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("email", "user", "frequency", "send_hour", "time_zone", "state", "created_at")
    list_filter = ("frequency", "pause_reason", ("confirmed_at", admin.EmptyFieldListFilter))
    search_fields = ("email", "user__username", "user__email")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "confirmation_sent_at", "confirmations_sent")
    date_hierarchy = "created_at"

    @admin.display(description="State")
    def state(self, sub):
        if sub.paused_at:
            return f"Paused ({sub.get_pause_reason_display() or 'off'})"
        return "Receiving" if sub.confirmed_at else "Awaiting confirmation"


@admin.register(FollowedAuthor)
class FollowedAuthorAdmin(admin.ModelAdmin):
    list_display = ("user", "author", "created_at")
    search_fields = ("user__username", "author__name")
    raw_id_fields = ("user", "author")


@admin.register(FollowedCategory)
class FollowedCategoryAdmin(admin.ModelAdmin):
    list_display = ("user", "category", "created_at")
    search_fields = ("user__username", "category")
    raw_id_fields = ("user",)


@admin.register(FollowedKeyword)
class FollowedKeywordAdmin(admin.ModelAdmin):
    list_display = ("user", "keyword", "created_at")
    search_fields = ("user__username", "keyword")
    raw_id_fields = ("user",)
