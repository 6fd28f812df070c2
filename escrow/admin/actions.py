"""Admin actions that call a service, after a confirmation form where amounts or a reason are needed.

A refusal by the engine shows its message and changes nothing; every success writes Django's
admin log (the service writes the escrow audit event itself).
"""

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.template.response import TemplateResponse

from escrow.errors import EscrowError
from escrow.payments.fincra import FincraError


def run_service(modeladmin, request, queryset, perform: Callable, *, done: str) -> None:
    """``perform(obj)`` for each selected object; report each success and each refusal (by the
    engine, or by the payment gateway when an action has to ask it)."""
    for obj in queryset:
        try:
            perform(obj)
        except EscrowError as error:
            modeladmin.message_user(request, f"{obj}: {error}", messages.ERROR)
            continue
        except FincraError as error:
            modeladmin.message_user(request, f"{obj}: FinCra could not be asked: {error}", messages.ERROR)
            continue
        modeladmin.log_change(request, obj, f"{done} (operator console)")
        modeladmin.message_user(request, f"{obj}: {done}.", messages.SUCCESS)


def with_form(modeladmin, request, queryset, *, form_class: type[forms.Form], title: str, explanation: str,
              perform: Callable, done: str, single: bool = False):
    """Show ``form_class`` for the selection; on a valid submission run ``perform(obj, data)``."""
    if single and queryset.count() != 1:
        modeladmin.message_user(request, f"{title}: select exactly one.", messages.WARNING)
        return None
    form = form_class(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        run_service(modeladmin, request, queryset, lambda obj: perform(obj, form.cleaned_data), done=done)
        return None
    return TemplateResponse(request, "admin/escrow/action_form.html", {
        **modeladmin.admin_site.each_context(request),
        "title": title, "explanation": explanation, "form": form, "queryset": queryset,
        "action": request.POST.get("action"), "opts": modeladmin.model._meta,
    })


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class NoteForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class ResolutionForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("release", "Release everything held to the seller"),
                                         ("refund", "Refund everything held to the buyer"),
                                         ("split", "Split: the amounts below")], widget=forms.RadioSelect)
    seller_amount = forms.DecimalField(required=False, min_value=0, max_digits=15, decimal_places=2,
                                       help_text="Split only: released to the seller (commission is taken from it).")
    buyer_amount = forms.DecimalField(required=False, min_value=0, max_digits=15, decimal_places=2,
                                      help_text="Split only: refunded to the buyer. Both must add up to what is held.")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


