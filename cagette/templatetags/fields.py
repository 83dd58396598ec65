"""Form fields built in Python, for pages shown often whose forms are plain.

``{% form_fields form %}`` gives the markup crispy-forms' bootstrap5 pack gives
a plain form (the form-wide errors, the hidden fields, then each field's label,
widget, errors and help text); ``{% widget field %}`` the widget ``{{ field }}``
gives; ``{% labelled_field field %}`` a field as the basket page lays it out.
All without templates: crispy renders a dozen per field, Django two or three
per widget, which cost a client's history page a fifth of its time and a
basket's page a tenth. Only the widgets those forms use are known here (inputs
and single selects); any other is a `FieldWidgetUnknown`, and its form keeps
``{% crispy %}`` or ``{{ field }}``.
"""

from django import forms, template
from django.forms.utils import flatatt
from django.forms.widgets import FileInput, Input, Select
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


class FieldWidgetUnknown(TypeError):
    """A widget ``{% form_fields %}`` does not render: use ``{% crispy %}`` for that form."""


@register.simple_tag
def form_fields(form: forms.Form) -> SafeString:
    parts = [_form_errors(form)]
    parts += [_widget(field, _attrs(field)) for field in form.hidden_fields()]
    parts += [_field(field) for field in form.visible_fields()]
    return mark_safe("".join(parts))


def _form_errors(form) -> str:
    errors = form.non_field_errors()
    if not errors:
        return ""
    items = format_html_join("", "<li>{}</li>", ((error,) for error in errors))
    return format_html(
        '<div class="alert alert-block alert-danger"><ul class="m-0">{}</ul></div>', items
    )


def _field(field) -> str:
    required = field.field.required
    label = format_html(
        '<label for="{}" class="form-label{}">{}{}</label>',
        field.id_for_label,
        " requiredField" if required else "",
        field.label,
        mark_safe('<span class="asteriskField">*</span>') if required else "",
    )
    errors = format_html_join(
        "",
        '<span id="error_{}_{}"><strong>{}</strong></span>',
        ((n, field.auto_id, error) for n, error in enumerate(field.errors, start=1)),
    )
    if errors:
        errors = format_html(
            '<div id="{}_error" class="invalid-feedback">{}</div>', field.auto_id, errors
        )
    help_text = ""
    if field.help_text:
        # Like Django's and crispy's templates: help texts are the code's own, not escaped.
        help_text = format_html(
            '<div id="{}_helptext" class="form-text">{}</div>',
            field.auto_id,
            mark_safe(field.help_text),
        )
    return format_html(
        '<div id="div_{}" class="mb-3">{}{}{}{}</div>',
        field.auto_id,
        label,
        _widget(field, _attrs(field)),
        errors,
        help_text,
    )


@register.simple_tag
def widget(field) -> SafeString:
    """``{{ field }}``: the widget with the attributes Django gives it."""
    if field.field.show_hidden_initial:
        raise FieldWidgetUnknown(f"{field.html_name} shows its initial value: use {{{{ field }}}}")
    return _widget(field, _with_id(field, field.build_widget_attrs({})))


@register.simple_tag
def labelled_field(field, css: str = "") -> SafeString:
    """A field with its label above and its errors below, in a ``css`` box (``mb-2``):
    the basket page's fields, compact for a phone held at the pickup."""
    errors = format_html_join(
        "", '<div class="text-danger small" role="alert">{}</div>', ((e,) for e in field.errors)
    )
    return format_html(
        '<div class="{}"><label class="form-label mb-1" for="{}">{}</label>{}{}</div>',
        css or "mb-2",
        field.id_for_label,
        field.label,
        widget(field),
        errors,
    )


def _with_id(field, attrs: dict) -> dict:
    if field.auto_id and "id" not in field.field.widget.attrs:
        attrs.setdefault("id", field.auto_id)
    return attrs


def _attrs(field) -> dict:
    """The attributes crispy gives the widget: its classes, and what describes it."""
    widget = field.field.widget
    attrs = dict(widget.attrs)
    if not widget.is_hidden:
        kind = "form-select" if isinstance(widget, Select) else "form-control"
        css = [attrs.get("class", ""), type(widget).__name__.lower(), kind]
        css += ["is-invalid"] if field.errors else []
        attrs["class"] = " ".join(c for c in css if c)
    # Django adds ``required``, and ``aria-invalid`` on a field with errors.
    attrs = field.build_widget_attrs(attrs)
    described = [f"{field.auto_id}_helptext"] if field.help_text else []
    if field.errors and not widget.is_hidden:
        described.append(f"{field.auto_id}_error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return _with_id(field, attrs)


def _widget(field, attrs: dict) -> str:
    widget = field.field.widget
    if field.field.localize:
        widget.is_localized = True
    if isinstance(widget, Select) and not widget.allow_multiple_selected:
        context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
        return format_html(
            '<select name="{}"{}>{}</select>',
            context["name"],
            flatatt(context["attrs"]),
            _options(context),
        )
    if isinstance(widget, Input) and not isinstance(widget, FileInput):
        context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
        value = context["value"]
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            context["type"],
            context["name"],
            format_html(' value="{}"', value) if value is not None else "",
            flatatt(context["attrs"]),
        )
    raise FieldWidgetUnknown(f"{type(widget).__name__} of {field.html_name}: use {{% crispy %}}")


def _options(context) -> str:
    rows = []
    for group, options, _index in context["optgroups"]:
        html = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((o["value"], flatatt(o["attrs"]), o["label"]) for o in options),
        )
        rows.append(
            format_html('<optgroup label="{}">{}</optgroup>', group, html) if group else html
        )
    return mark_safe("".join(rows))
