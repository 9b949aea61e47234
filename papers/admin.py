from django.contrib import admin, messages
from django.utils import timezone

from .models import Author, Authorship, Paper, Vote


class AuthorshipInline(admin.TabularInline):
    model = Authorship
    raw_id_fields = ("author",)
    extra = 0
    ordering = ("position",)


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = (
        "arxiv_id",
        "title",
        "primary_category",
        "daily_date",
        "upvote_count",
        "is_hidden",
        "submitted_by",
    )
    list_filter = ("is_hidden", "daily_date", "primary_category")
    search_fields = ("=arxiv_id", "title", "author_names")
    raw_id_fields = ("submitted_by",)
    # Denormalised: only votes change them (Paper.add_vote/remove_vote).
    readonly_fields = ("upvote_count", "rank_score", "author_names", "author_count", "created_at")
    inlines = [AuthorshipInline]
    actions = ["hide", "unhide", "feature_today", "unfeature"]
    show_full_result_count = False
    list_per_page = 50

    @admin.action(description="Hide from every list and page")
    def hide(self, request, queryset):
        self.message_user(request, f"Hid {queryset.update(is_hidden=True)} papers.")

    @admin.action(description="Show again")
    def unhide(self, request, queryset):
        self.message_user(request, f"Showed {queryset.update(is_hidden=False)} papers.")

    @admin.action(description="Feature in today's daily list")
    def feature_today(self, request, queryset):
        count = queryset.update(daily_date=timezone.now().date())
        self.message_user(request, f"Featured {count} papers today.")

    @admin.action(description="Remove from the daily lists (keep indexed)")
    def unfeature(self, request, queryset):
        count = queryset.update(daily_date=None, rank_score=0)
        self.message_user(request, f"Removed {count} papers from the daily lists.")


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "claimed_by")
    search_fields = ("name", "normalised_name", "=slug")
    list_filter = (("claimed_by", admin.EmptyFieldListFilter),)
    raw_id_fields = ("claimed_by",)
    readonly_fields = ("normalised_name",)
    show_full_result_count = False


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    """Votes are read-only here; deleting one goes through Paper.remove_vote so the
    paper's count stays exact."""

    list_display = ("paper", "user", "created_at")
    search_fields = ("=paper__arxiv_id", "user__username", "user__email")
    raw_id_fields = ("paper", "user")
    list_select_related = ("paper", "user")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        obj.paper.remove_vote(obj.user)

    def delete_queryset(self, request, queryset):
        for vote in queryset.select_related("paper", "user"):
            vote.paper.remove_vote(vote.user)
        messages.info(request, "Counts updated.")
