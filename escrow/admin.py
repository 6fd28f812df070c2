"""Django admin: the four tables, registered simply. The operator console is built on this."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from escrow.models import Milestone, Project, Transaction, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_verified", "is_staff", "created_at"]
    list_filter = ["is_active", "is_verified", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["id", "created_at", "updated_at", "last_login"]
    fieldsets = [
        (None, {"fields": ["id", "email", "password"]}),
        ("Profile", {"fields": ["full_name", "phone_number", "avatar_url", "bio"]}),
        ("Status", {"fields": ["is_active", "is_verified", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]}),
    ]


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    fields = ["order_index", "title", "amount", "currency", "status", "is_paid", "paid_at"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "total_amount", "currency", "buyer", "seller", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["title", "buyer__email", "seller__email", "creator__email"]
    list_select_related = ["buyer", "seller"]
    raw_id_fields = ["creator", "buyer", "seller"]
    inlines = [MilestoneInline]


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "order_index", "amount", "currency", "status", "is_paid"]
    list_filter = ["status", "is_paid"]
    search_fields = ["title", "project__title"]
    list_select_related = ["project"]
    raw_id_fields = ["project"]


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ["id", "transaction_type", "status", "amount", "fee", "net_amount", "currency", "user", "created_at"]
    list_filter = ["transaction_type", "status", "currency"]
    search_fields = ["user__email", "gateway_reference", "gateway_transaction_id", "project__title"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "project", "milestone"]
