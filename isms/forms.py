"""The core's forms, and the fields every app's forms and views use for raw input.

Every value a person sends reaches the portal through a form field: Django's text fields
already refuse NUL characters, which PostgreSQL cannot store; the integer fields here also
refuse digits that are not ASCII ("²" passes str.isdigit() but not int()) and values
outside what the database column holds, so bad input is a field error, never a 500."""

import datetime
import re

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core import validators
from django.db import models
from django.forms.utils import flatatt
from django.http import Http404
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from . import review
from .models import PolicyRevision, ReviewItem
from .models.policy import FROZEN_STATUSES

ASCII_INTEGER = re.compile(r"[+-]?[0-9]+")
# PostgreSQL's bigint, the type of every primary key (BigAutoField).
MAX_ID = 2**63 - 1
# PostgreSQL's integer, the type of IntegerField columns.
MAX_INTEGER = 2**31 - 1
# Far beyond any password a person types; hashing megabytes would tie up a worker.
MAX_PASSWORD_LENGTH = 1024
# Set on the request by isms.local_signin.LocalPasswordBackend when the password was right
# but LOCAL_PASSWORDS does not accept it for this person.
LOCAL_PASSWORD_REFUSED = "local_password_refused"
EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2199, 12, 31)


class StrictIntegerField(forms.IntegerField):
    """A whole number in ASCII digits, within the range of an integer column unless
    narrowed further."""

    default_error_messages = {"invalid": _("Enter a whole number.")}

    def __init__(self, *, min_value=-MAX_INTEGER - 1, max_value=MAX_INTEGER, **kwargs):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not ASCII_INTEGER.fullmatch(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(text)


class IdField(StrictIntegerField):
    """The id (primary key) of an object."""

    default_error_messages = {"invalid": _("Enter the number of an existing record.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


def id_or_404(value, *, required=True, message=None):
    """An id read from a URL's query string or a posted value: None when absent and not
    required, Http404 when malformed or out of range (an id that cannot exist is answered
    like one that does not)."""
    field = IdField(required=required)
    try:
        return field.clean(value)
    except forms.ValidationError:
        raise Http404(message or "") from None


class BoundedDateField(forms.DateField):
    """A date within the years the portal's records can sensibly carry: a deadline in the
    year 9999 or 1 would overflow the date arithmetic of reminders and era display."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators += [
            validators.MinValueValidator(EARLIEST_DATE),
            validators.MaxValueValidator(LATEST_DATE),
        ]


def strict_formfield(model_field, **kwargs):
    """A ModelForm's Meta.formfield_callback: integer columns get a StrictIntegerField,
    date columns a BoundedDateField."""
    if isinstance(model_field, models.IntegerField) and not model_field.choices:
        kwargs.setdefault("form_class", StrictIntegerField)
    elif type(model_field) is models.DateField:
        kwargs.setdefault("form_class", BoundedDateField)
    return model_field.formfield(**kwargs)


class LoginForm(AuthenticationForm):
    """Django's login form, with the length limits it only shows in the widget enforced: a
    longer user name would reach the lockout log (django-axes), whose column it overflows."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(validators.MaxLengthValidator(username.max_length))
        self.fields["password"].validators.append(
            validators.MaxLengthValidator(MAX_PASSWORD_LENGTH)
        )

    def get_invalid_login_error(self):
        # The right password of a person whose portal password LOCAL_PASSWORDS switched off
        # (isms.local_signin): say so, rather than let them guess at "wrong password".
        if getattr(self.request, LOCAL_PASSWORD_REFUSED, False):
            self.local_password_off = True
            return forms.ValidationError(
                _(
                    "Signing in with a portal password is switched off for this account. "
                    "Sign in with your directory account or through the city's identity "
                    "provider."
                ),
                code="local_password_off",
            )
        return super().get_invalid_login_error()


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class QuickSelect(forms.Select):
    """A <select> whose options are written here rather than by the template engine, which
    spends about a tenth of a millisecond on each <option>: a filter listing the city's
    units (hundreds) cost the asset register half its page time (bench/asset_register.py).
    The same HTML as Django's own select.html; single choice only."""

    allow_multiple_selected = False

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">', group_name))
            parts.extend(
                format_html(
                    '<option value="{}"{}>{}</option>',
                    option["value"],
                    flatatt(option["attrs"]),
                    option["label"],
                )
                for option in options
            )
            if group_name:
                parts.append(mark_safe("</optgroup>"))
        parts.append(mark_safe("</select>"))
        return mark_safe("".join(parts))  # every part went through format_html


class RevisionForm(forms.ModelForm):
    class Meta:
        model = PolicyRevision
        formfield_callback = strict_formfield
        fields = ["title", "effective_date", "is_material", "change_summary", "body"]
        widgets = {
            "effective_date": DateInput(),
            "body": forms.Textarea(attrs={"rows": 24}),
            "change_summary": forms.Textarea(attrs={"rows": 3}),
        }


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class PublishForm(forms.Form):
    deadline = BoundedDateField(
        label=_("Acknowledgement deadline"),
        required=False,
        widget=DateInput(),
        help_text=_("Leave empty for the default period."),
    )


class BacklogFilterForm(forms.Form):
    """The policy review backlog's filters: one kind of item, and the items no revision
    cites yet."""

    kind = forms.ChoiceField(label=_("Source"), required=False)
    uncited = forms.BooleanField(label=_("Not yet cited by a revision"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            ("", _("All")),
            *((kind, source.label) for kind, source in review.sources.items()),
        ]


class CiteForm(forms.Form):
    """Cite items of the backlog in a revision being prepared. `items` are the items the
    person may cite; `shown` those offered as check boxes, the page's: the whole backlog
    would make the form as long as the backlog."""

    revision = forms.ModelChoiceField(
        label=_("Revision"),
        queryset=PolicyRevision.objects.exclude(status__in=FROZEN_STATUSES)
        .select_related("document")
        .order_by("document__code", "number"),
        help_text=_("A revision being prepared: a published one is not changed."),
    )
    items = forms.ModelMultipleChoiceField(
        label=_("Items"), queryset=ReviewItem.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, items, shown, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["items"]
        field.queryset = items
        field.widget.choices = [
            (item.pk, f"{review.source_label(item.source_kind)}: {item.title}") for item in shown
        ]


def add_service_errors(form, error, renamed=None):
    """A service's refusal shown in the form (docs/ui.md, "Errors"): beside the field it
    names (a service's field name mapped to the form's through `renamed`), else at the top
    of the form, which is shown again with what was typed."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            name = (renamed or {}).get(name, name)
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
