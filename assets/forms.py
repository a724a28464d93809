from django import forms
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _

from isms.forms import strict_formfield
from isms.pickers import (
    NOT_NAMEABLE,
    PersonField,
    PersonPicker,
    PickerChoiceField,
    PickerSearchMixin,
)

from .access import assignable_sections, possible_custodians_for, visible_assets
from .custodians import may_keep
from .models import Asset, Axis, ClassificationLevel, RelationKind


class AssetForm(PickerSearchMixin, forms.ModelForm):
    # Chosen among the people who may keep an asset of a unit the person manages
    # (assets.custodians); the section chosen is checked in clean().
    custodian_username = PersonField(
        label=_("Custodian"),
        required=False,
        widget=PersonPicker(search_url=reverse_lazy("asset-custodian-search")),
    )
    reason = forms.CharField(
        label=_("Reason for the classification change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when confidentiality, integrity or availability changes."),
    )

    class Meta:
        model = Asset
        formfield_callback = strict_formfield
        fields = [
            "name",
            "kind",
            "section",
            "description",
            "location",
            "tier",
            "confidentiality",
            "integrity",
            "availability",
            "has_personal_data",
            "has_my_number",
            "external_service",
            "contract_reference",
            "status",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = assignable_sections(user).order_by("sort_order", "code")
        for axis in (Axis.CONFIDENTIALITY, Axis.INTEGRITY, Axis.AVAILABILITY):
            self.fields[axis].queryset = ClassificationLevel.objects.filter(
                scheme__is_active=True, axis=axis
            )
            self.fields[axis].empty_label = None
        self.fields["custodian_username"].people = possible_custodians_for(user)
        if self.instance.pk and self.instance.custodian_id:
            self.fields["custodian_username"].initial = self.instance.custodian.username
        if not self.instance.pk:
            del self.fields["reason"]
            del self.fields["status"]

    def clean(self):
        cleaned = super().clean()
        custodian, section = cleaned.get("custodian_username"), cleaned.get("section")
        if custodian is not None and section is not None and not may_keep(custodian, section):
            self.add_error("custodian_username", NOT_NAMEABLE % {"name": custodian.get_username()})
        if self.instance.pk and "reason" in self.fields:
            changed = [
                f
                for f in ("confidentiality", "integrity", "availability")
                if f in self.changed_data
            ]
            if changed and not (cleaned.get("reason") or "").strip():
                self.add_error("reason", _("Say why the classification changes."))
        return cleaned

    def asset_fields(self):
        data = {
            name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data
        }
        data["custodian"] = self.cleaned_data.get("custodian_username")
        return data


class AssetChoiceField(PickerChoiceField):
    def label_from_instance(self, obj):
        return f"#{obj.pk} {obj.name} ({obj.section.name})"


class RelationForm(PickerSearchMixin, forms.Form):
    """A relation from `asset` to another asset the person sees (the register's rule),
    chosen from a list or searched by name or number."""

    kind = forms.ChoiceField(label=_("Relation"), choices=RelationKind.choices)
    target = AssetChoiceField(
        queryset=None,
        label=_("Related asset"),
        error_messages={"invalid_choice": _("Choose an asset from the list.")},
    )
    sanitised = forms.BooleanField(label=_("through sanitisation (無害化)"), required=False)

    def __init__(self, *args, asset, user, **kwargs):
        super().__init__(*args, **kwargs)
        target = self.fields["target"]
        target.queryset = (
            visible_assets(user)
            .exclude(pk=asset.pk)
            .select_related("section")
            .order_by("name", "pk")
        )
        target.widget.search_url = reverse("asset-relation-search", args=[asset.pk])


class ReviewForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_(
            "Use the template. Every row is checked first; nothing is saved unless "
            "all rows are valid."
        ),
    )

    def clean_file(self):
        from django.conf import settings

        uploaded = self.cleaned_data["file"]
        if uploaded.size > settings.ASSET_IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large."))
        if not uploaded.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return uploaded
