from django.contrib import admin

from .models import (
    DigestDelivery,
    DigestSubscription,
    FollowedAuthor,
    FollowedCategory,
    FollowedKeyword,
)


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


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(admin.ModelAdmin):
    list_display = ("period", "subscription", "status", "attempts", "sent_at", "short_error")
    list_filter = ("status", "frequency", "period")
    search_fields = ("subscription__email", "period", "error")
    list_select_related = ("subscription",)
    raw_id_fields = ("subscription",)
    readonly_fields = (
        "subscription",
        "period",
        "frequency",
        "status",
        "attempts",
        "claimed_at",
        "next_attempt_at",
        "sent_at",
        "error",
        "sections",
        "created_at",
    )
    date_hierarchy = "created_at"

    @admin.display(description="Error")
    def short_error(self, delivery):
        return delivery.error[:80]

    def has_add_permission(self, request):
        return False  # rows are claims made by the sender, never by hand
