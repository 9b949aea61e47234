from django.contrib import admin

from .models import Submission


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    """Read-only: a submission records what a user asked for and how the fetch went."""

    list_display = ("arxiv_id", "user", "status", "created_at", "paper")
    list_filter = ("status", "created_at")
    search_fields = ("=arxiv_id", "user__username", "user__email")
    raw_id_fields = ("paper", "user")
    list_select_related = ("paper", "user")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
