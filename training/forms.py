"""The quiz a person takes, and the one-page authoring form of a course: its content, its
files, its questions and each question's choices."""

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.forms.models import InlineForeignKeyField
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from isms.eras import fiscal_year, fiscal_year_label
from isms.forms import DateInput, StrictIntegerField, strict_formfield
from isms.models import Department, Role

from .models import Choice, Course, CourseAudience, CourseFile, Question


class QuizForm(forms.Form):
    """A quiz: one choice per question (field q<question id>, the choice's id). A question
    left blank is counted as unanswered by services.submit_attempt."""

    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            self.fields[f"q{question.pk}"] = forms.TypedChoiceField(
                label=question.text,
                choices=[(str(choice.pk), choice.text) for choice in question.choices.all()],
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
            )

    def answers(self):
        """{question id: choice id} for the questions answered."""
        return {
            question.pk: self.cleaned_data[f"q{question.pk}"]
            for question in self.questions
            if self.cleaned_data[f"q{question.pk}"] is not None
        }

    def rows(self, marks=None, given=None):
        """(question, the choice id given, the errors, whether it was right) for the
        template; `marks` ({question id: right}) and `given` ({question id: choice id}) of
        an attempt already graded, else None."""
        marks = marks or {}
        rows = []
        for question in self.questions:
            field = self[f"q{question.pk}"]
            value = field.value()
            if given is not None and not self.is_bound:
                value = given.get(question.pk)
            rows.append(
                (
                    question,
                    None if value is None else str(value),
                    field.errors,
                    marks.get(question.pk),
                )
            )
        return rows


# --- authoring -------------------------------------------------------------------------------

# Blank choice rows offered with a new question; an existing question gets enough to make
# this many, and at least one.
BLANK_CHOICES = 4
MIN_CHOICES = 2
MAX_QUESTIONS = 100
MAX_CHOICES = 20
# The errors that "Add a question" leaves unsaid: what is merely not written yet. A value
# that can never be stored (a NUL, a number out of range) is still shown at once.
NOT_YET_WRITTEN = {"required", "too_few_choices", "no_correct_choice", "no_question_text"}


# What UploadInput reads when text, not a file, is sent under a file field's name.
NOT_A_FILE = object()


class UploadInput(forms.FileInput):
    """A file input that tells a file from text sent under its name: a browser sends a
    file, so text there is an error (FileInput would silently ignore it)."""

    def value_from_datadict(self, data, files, name):
        upload = super().value_from_datadict(data, files, name)
        if upload is None and data.get(name):
            return NOT_A_FILE
        return upload


# Course materials are slides and handouts; a larger file belongs on the file server.
MAX_FILE_BYTES = 20 * 1024 * 1024


class UploadField(forms.FileField):
    def to_python(self, data):
        if data is NOT_A_FILE:
            raise ValidationError(_("Choose a file to upload."), code="invalid")
        upload = super().to_python(data)
        if upload is not None and upload.size > MAX_FILE_BYTES:
            raise ValidationError(
                _("The file is larger than %(size)s MB.") % {"size": MAX_FILE_BYTES // 2**20},
                code="too_large",
            )
        return upload


class StrictParentField(InlineForeignKeyField):
    """The hidden parent id of an inline form, which Django never counts as changed: so a
    blank row whose parent id was tampered with would be skipped without a word. Here it
    counts, and the row then fails with "did not match the parent"."""

    def has_changed(self, initial, data):
        if data in (None, ""):
            return False
        return str(data) != str(self.parent_instance.pk)


class StrictInlineFormSet(BaseInlineFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        parent = form.fields[self.fk.name]
        if isinstance(parent, InlineForeignKeyField):
            parent.__class__ = StrictParentField


def _department_label(unit):
    return unit.path_name


class CourseForm(forms.ModelForm):
    pass_mark = StrictIntegerField(
        label=_("pass mark (%)"),
        min_value=0,
        max_value=100,
        help_text=_("A whole number from 0 to 100: the share of right answers needed to pass."),
    )
    roles = forms.MultipleChoiceField(
        label=_("roles"),
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For the audience “People with given roles”."),
    )
    fiscal_year = forms.TypedChoiceField(label=_("fiscal year"), coerce=int)

    class Meta:
        model = Course
        formfield_callback = strict_formfield
        fields = [
            "title",
            "content",
            "fiscal_year",
            "deadline",
            "pass_mark",
            "audience",
            "roles",
            "departments",
            "for_new_staff",
        ]
        widgets = {
            "content": forms.Textarea(attrs={"rows": 14}),
            "deadline": DateInput(),
            "audience": forms.RadioSelect,
            "departments": forms.SelectMultiple(attrs={"size": 8}),
        }
        help_texts = {
            "content": _(
                "Markdown: ## for a heading, - for a list, a blank line between paragraphs."
            ),
            "departments": _(
                "For the audience “Named departments”: everyone in these units and the "
                "units below them. Hold Ctrl (⌘ on a Mac) to choose several."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        this_year = fiscal_year(timezone.localdate())
        years = {this_year - 1, this_year, this_year + 1}
        if self.instance.fiscal_year:
            years.add(self.instance.fiscal_year)
        self.fields["fiscal_year"].choices = [
            (year, fiscal_year_label(year)) for year in sorted(years)
        ]
        if self.instance.pk is None:
            self.initial.setdefault("fiscal_year", this_year)
        departments = self.fields["departments"]
        departments.queryset = Department.objects.select_related("parent__parent")
        departments.label_from_instance = _department_label

    def clean(self):
        data = super().clean()
        audience = data.get("audience")
        if audience == CourseAudience.ROLES and not data.get("roles"):
            self.add_error("roles", _("Choose at least one role for this audience."))
        if audience == CourseAudience.DEPARTMENTS and not data.get("departments"):
            self.add_error("departments", _("Choose at least one department for this audience."))
        # What another audience would use is dropped, so the course says one thing.
        if audience != CourseAudience.ROLES:
            data["roles"] = []
        if audience != CourseAudience.DEPARTMENTS and "departments" in data:
            data["departments"] = Department.objects.none()
        return data


class CourseFileForm(forms.ModelForm):
    file = UploadField(label=_("file"), widget=UploadInput)

    class Meta:
        model = CourseFile
        fields = ["name", "file"]
        help_texts = {"name": _("As shown to staff; the file's own name when left blank.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if not data.get("name") and upload:
            data["name"] = upload.name.rsplit("/", 1)[-1][:200]
        return data


CourseFileFormSet = inlineformset_factory(
    Course,
    CourseFile,
    form=CourseFileForm,
    formset=StrictInlineFormSet,
    extra=1,
    can_delete=True,
    can_delete_extra=False,
    max_num=20,
    validate_max=True,
)


class ChoiceForm(forms.ModelForm):
    class Meta:
        model = Choice
        fields = ["text", "is_correct"]


class BaseChoiceFormSet(StrictInlineFormSet):
    def get_queryset(self):
        # The choices prefetched with the questions (QuestionFormSet's queryset): one query
        # for the whole quiz, not one per question.
        prefetched = getattr(self.instance, "_prefetched_objects_cache", {})
        if "choices" in prefetched:
            return prefetched["choices"]
        return super().get_queryset()


ChoiceFormSet = inlineformset_factory(
    Question,
    Choice,
    form=ChoiceForm,
    formset=BaseChoiceFormSet,
    extra=BLANK_CHOICES,
    can_delete=True,
    can_delete_extra=False,
    max_num=MAX_CHOICES,
    validate_max=True,
)


class QuestionForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}


class BaseQuestionFormSet(StrictInlineFormSet):
    """The questions, each form carrying its choices as a formset of its own
    (form.choices, prefix "<question prefix>-choices"). The order of the questions is the
    order on the page."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.choices = ChoiceFormSet(
            data=self.data if self.is_bound else None,
            instance=form.instance,
            prefix=f"{form.prefix}-choices",
        )
        if not self.is_bound and form.instance.pk is not None:
            form.choices.extra = max(1, BLANK_CHOICES - len(form.choices.get_queryset()))

    def is_blank(self, form):
        """A new question left empty, choices and all: not a question at all."""
        return (
            form.instance.pk is None and not form.has_changed() and not form.choices.has_changed()
        )

    def kept(self):
        """The question forms that will be saved, in page order."""
        return [
            form
            for form in self.forms
            if not self.is_blank(form) and not (self.can_delete and self._should_delete_form(form))
        ]

    def clean(self):
        super().clean()
        for form in self.kept():
            if not form.is_valid() or not form.choices.is_valid():
                continue
            if not form.cleaned_data.get("text"):
                form.add_error(
                    "text",
                    ValidationError(
                        _("Write the question, or remove its choices."), code="no_question_text"
                    ),
                )
            choices = [
                choice.cleaned_data
                for choice in form.choices.forms
                if choice.has_changed() or choice.instance.pk is not None
                if not form.choices._should_delete_form(choice)
            ]
            if len(choices) < MIN_CHOICES:
                form.add_error(
                    None,
                    ValidationError(_("Give at least two choices."), code="too_few_choices"),
                )
            if not any(choice.get("is_correct") for choice in choices):
                form.add_error(
                    None,
                    ValidationError(
                        _("Mark at least one choice as correct."), code="no_correct_choice"
                    ),
                )

    def is_valid(self):
        valid = super().is_valid()
        for form in self.forms:
            if self.is_blank(form) or (self.can_delete and self._should_delete_form(form)):
                # Left out, but a tampered count of its choices is still an error.
                valid = not form.choices.non_form_errors() and valid
                continue
            valid = form.choices.is_valid() and valid
        return valid


QuestionFormSet = inlineformset_factory(
    Course,
    Question,
    form=QuestionForm,
    formset=BaseQuestionFormSet,
    extra=0,
    can_delete=True,
    can_delete_extra=False,
    max_num=MAX_QUESTIONS,
    validate_max=True,
)


class CourseAuthoring:
    """The one page on which a course is written: the course (CourseForm), its files
    (prefix "files") and its questions with their choices (prefix "questions")."""

    def __init__(self, data=None, files=None, *, instance):
        self.instance = instance
        self.course_form = CourseForm(data, instance=instance)
        self.file_formset = CourseFileFormSet(data, files, instance=instance, prefix="files")
        self.question_formset = QuestionFormSet(
            data,
            instance=instance,
            prefix="questions",
            queryset=Question.objects.prefetch_related("choices"),
        )
        if data is None and (instance.pk is None or not instance.questions.exists()):
            self.question_formset.extra = 1

    @classmethod
    def with_another_question(cls, data, files, *, instance):
        """The page posted again with one more blank question (and its blank choices) at
        the end, everything typed kept. Errors of what is not written yet stay unsaid."""
        data = data.copy()
        prefix = "questions"
        try:
            count = int(data.get(f"{prefix}-TOTAL_FORMS", ""))
        except ValueError:
            count = None
        if count is not None and 0 <= count < MAX_QUESTIONS:
            data[f"{prefix}-TOTAL_FORMS"] = str(count + 1)
            data[f"{prefix}-{count}-choices-TOTAL_FORMS"] = str(BLANK_CHOICES)
            data[f"{prefix}-{count}-choices-INITIAL_FORMS"] = "0"
        authoring = cls(data, files, instance=instance)
        authoring.is_valid()
        authoring.forget_unwritten()
        return authoring

    def all_forms(self):
        yield self.course_form
        yield from self.file_formset.forms
        for form in self.question_formset.forms:
            yield form
            yield from form.choices.forms

    def is_valid(self):
        # Every part is checked, so every error shows at once.
        results = [
            self.course_form.is_valid(),
            self.file_formset.is_valid(),
            self.question_formset.is_valid(),
        ]
        return all(results)

    def forget_unwritten(self):
        for form in self.all_forms():
            for name, errors in list(form.errors.as_data().items()):
                left = [e for e in errors if e.code not in NOT_YET_WRITTEN]
                if left:
                    form.errors[name] = form.error_class(left)
                else:
                    del form.errors[name]

    def errors(self):
        """(anchor id or "", text) of every error on the page, for the summary at its top;
        each links to the field (or the question) it is about."""
        found = []

        def of_form(form, prefix, anchor):
            for name, errors in form.errors.items():
                if name == "__all__":
                    found.extend((anchor, f"{prefix}{error}") for error in errors)
                    continue
                field = form[name]
                target = anchor if field.is_hidden else (field.id_for_label or field.auto_id)
                label = "" if field.is_hidden else f"{field.label}: "
                found.extend((target, f"{prefix}{label}{error}") for error in errors)

        of_form(self.course_form, "", "")
        for error in self.file_formset.non_form_errors():
            found.append(("files", str(error)))
        for number, form in enumerate(self.file_formset.forms, start=1):
            of_form(form, _("File %(number)s: ") % {"number": number}, f"{form.prefix}-row")
        for error in self.question_formset.non_form_errors():
            found.append(("questions", str(error)))
        for number, form in enumerate(self.question_formset.forms, start=1):
            anchor = f"{form.prefix}-fieldset"
            prefix = _("Question %(number)s: ") % {"number": number}
            of_form(form, prefix, anchor)
            for error in form.choices.non_form_errors():
                found.append((anchor, f"{prefix}{error}"))
            for choice_number, choice in enumerate(form.choices.forms, start=1):
                of_form(
                    choice,
                    _("Question %(number)s, choice %(choice)s: ")
                    % {"number": number, "choice": choice_number},
                    anchor,
                )
        return found

    def save(self):
        course = self.course_form.save()
        self.file_formset.instance = course
        self.file_formset.save()
        questions = self.question_formset
        questions.instance = course
        for form in questions.forms:
            if questions.can_delete and questions._should_delete_form(form):
                if form.instance.pk is not None:
                    form.instance.delete()
        for order, form in enumerate(questions.kept(), start=1):
            question = form.save(commit=False)
            question.course = course
            question.order = order
            question.save()
            form.choices.instance = question
            form.choices.save()
        return course
