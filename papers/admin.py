from django.contrib import admin

# --- Digests (issue 5) ------------------------------------------------------------------
from .digests.models import DigestDelivery


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
        "paper_ids",
        "created_at",
    )
    date_hierarchy = "created_at"

    @admin.display(description="Error")
    def short_error(self, delivery):
        return delivery.error[:80]

    def has_add_permission(self, request):
        return False  # rows are claims made by the sender, never by hand
