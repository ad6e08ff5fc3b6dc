"""Forms of the communication pages: input validation only."""

from django import forms

from communications.rendering import TemplateError, template_check


class TemplateForm(forms.Form):
    subject = forms.CharField(max_length=255)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 16}))

    def clean(self):
        data = super().clean()
        for field in ("subject", "body"):
            try:
                template_check(data.get(field, ""))
            except TemplateError as exc:
                self.add_error(field, str(exc))
        return data


class MessageForm(forms.Form):
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10000)


class ResolutionLinkForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)
