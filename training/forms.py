from django import forms


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

    def rows(self):
        """(question, the choice id given, the errors) for the template."""
        return [
            (question, self[f"q{question.pk}"].value(), self[f"q{question.pk}"].errors)
            for question in self.questions
        ]
