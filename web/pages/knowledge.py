"""The knowledge base's pages: the list and search, an article, writing and editing one (with
its revision history), the suggestions fragment the desk's intake form fetches as the agent
types, and the knowledge panel of a case (link an article, solved without a return, write an
article from a closed case). Desk and admins. The rules are knowledge/'s."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from accounts.models import Role
from core.errors import DomainError, InvalidInput
from knowledge.articles import ArticleDraft, ArticleView
from knowledge.models import ArticleLanguage, ArticleStatus
from knowledge.suggest import SuggestQuery
from returns.status import TERMINAL
from web.extensions import services
from web.pages.access import roles_required

bp = Blueprint("knowledge_pages", __name__)

DESK = (Role.SERVICE_DESK, Role.ADMIN)
LANGUAGE_NAMES = {"en": "English", "zh-Hans": "简体中文"}


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    symptom = TextAreaField(_l("Symptom"), validators=[DataRequired(), Length(max=5000)])
    cause = TextAreaField(_l("Cause"), validators=[Optional(), Length(max=5000)])
    fix = TextAreaField(_l("Fix steps"), validators=[DataRequired(), Length(max=10000)])
    skus = StringField(_l("Parts (SKUs, comma-separated)"), validators=[Length(max=2000)])
    categories = StringField(_l("Part categories (comma-separated)"), validators=[Length(max=2000)])
    language = SelectField(
        _l("Language"), choices=[SelectChoice(k, v) for k, v in LANGUAGE_NAMES.items()]
    )
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("draft", _l("Draft")), SelectChoice("published", _l("Published"))],
    )
    customer_visible = BooleanField(_l("Customers may see it (returns portal: try this first)"))
    customer_can_fix_alone = BooleanField(_l("The customer can fix it alone"))
    note = StringField(_l("What changed (for the history)"), validators=[Length(max=500)])


def _split(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").replace("\n", ",").split(",") if part.strip())


def _draft(form: ArticleForm, source_rma_id: int | None) -> ArticleDraft:
    return ArticleDraft(
        title=form.title.data or "",
        symptom=form.symptom.data or "",
        cause=form.cause.data or "",
        fix=form.fix.data or "",
        skus=_split(form.skus.data),
        categories=_split(form.categories.data),
        language=ArticleLanguage(form.language.data),
        status=ArticleStatus(form.status.data),
        customer_visible=bool(form.customer_visible.data),
        customer_can_fix_alone=bool(form.customer_can_fix_alone.data),
        source_rma_id=source_rma_id,
    )


def _fill(form: ArticleForm, draft: ArticleDraft | ArticleView) -> None:
    form.title.data = draft.title
    form.symptom.data = draft.symptom
    form.cause.data = draft.cause
    form.fix.data = draft.fix
    form.skus.data = ", ".join(draft.skus)
    form.categories.data = ", ".join(draft.categories)
    form.language.data = str(draft.language)
    form.status.data = str(draft.status)
    form.customer_visible.data = draft.customer_visible
    form.customer_can_fix_alone.data = draft.customer_can_fix_alone


def _field_error(form: ArticleForm, error: InvalidInput) -> None:
    field = getattr(form, error.field, None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


@bp.get("/knowledge")
@roles_required(*DESK)
def index() -> ResponseReturnValue:
    """Every article (drafts too), or the published ones that fit a search, best first."""
    q = (request.args.get("q") or "").strip()[:500]
    sku = (request.args.get("sku") or "").strip()[:64]
    language = request.args.get("language") or ""
    if language not in LANGUAGE_NAMES:
        language = ""
    kb = services().knowledge
    if q or sku:
        articles = kb.suggestions.suggest(
            SuggestQuery(
                sku=sku or None,
                q=q,
                language=ArticleLanguage(language) if language else None,
                limit=50,
            )
        )
    else:
        articles = kb.articles.listing(language=language or None)
    return render_template(
        "knowledge_list.html",
        articles=articles,
        q=q,
        sku=sku,
        language=language,
        languages=LANGUAGE_NAMES,
        searched=bool(q or sku),
    )


@bp.get("/knowledge/<int(max=2147483647):article_id>")
@roles_required(*DESK)
def article(article_id: int) -> ResponseReturnValue:
    kb = services().knowledge
    return render_template(
        "knowledge_article.html",
        article=kb.articles.get(article_id),
        revisions=kb.articles.revisions(article_id),
        languages=LANGUAGE_NAMES,
    )


@bp.route("/knowledge/new", methods=["GET", "POST"])
@roles_required(*DESK)
def new() -> ResponseReturnValue:
    """A new article; ``?case=RMA-...`` pre-fills it from a closed case."""
    form = ArticleForm()
    case = (request.values.get("case") or "").strip()[:32]
    source_rma_id = None
    if case:
        prefill = services().knowledge.cases.draft_from_case(case)
        source_rma_id = prefill.source_rma_id
        if not form.is_submitted():
            _fill(form, prefill)
    if form.validate_on_submit():
        try:
            view = services().knowledge.articles.create(
                current_user.email, _draft(form, source_rma_id)
            )
        except InvalidInput as error:
            _field_error(form, error)
        else:
            flash(_("Article %(id)s saved.", id=view.id), "success")
            return redirect(url_for("knowledge_pages.article", article_id=view.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "knowledge_edit.html", form=form, article=None, revisions=[], case=case
    ), status


@bp.route("/knowledge/<int(max=2147483647):article_id>/edit", methods=["GET", "POST"])
@roles_required(*DESK)
def edit(article_id: int) -> ResponseReturnValue:
    kb = services().knowledge
    current = kb.articles.get(article_id)
    form = ArticleForm()
    if not form.is_submitted():
        _fill(form, current)
    if form.validate_on_submit():
        try:
            kb.articles.edit(
                current_user.email,
                article_id,
                _draft(form, current.source_rma_id),
                form.note.data or "",
            )
        except InvalidInput as error:
            _field_error(form, error)
        else:
            flash(_("Article %(id)s saved as a new revision.", id=article_id), "success")
            return redirect(url_for("knowledge_pages.article", article_id=article_id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "knowledge_edit.html",
        form=form,
        article=current,
        revisions=kb.articles.revisions(article_id),
        case="",
    ), status


@bp.get("/knowledge/suggestions")
@roles_required(*DESK)
def suggestions() -> ResponseReturnValue:
    """The suggestions fragment for the intake form (fetched as the agent types)."""
    sku = (request.args.get("sku") or "").strip()[:64]
    q = (request.args.get("q") or "").strip()[:500]
    found = services().knowledge.suggestions.suggest(SuggestQuery(sku=sku or None, q=q))
    return render_template("_knowledge_suggestions.html", suggestions=found, asked=bool(sku or q))


@bp.post("/returns/<number>/knowledge/<action>")
@roles_required(*DESK)
def case_action(number: str, action: str) -> ResponseReturnValue:
    """Link an article to the case, or record it solved without a return."""
    raw = (request.form.get("article_id") or "").strip()
    article_id = int(raw) if raw.isdigit() and int(raw) < 2**31 else None
    cases = services().knowledge.cases
    try:
        if action == "link":
            if article_id is None:
                raise InvalidInput("article_id", _("Choose an article."))
            cases.link(current_user.email, number, article_id)
            flash(_("Article linked to %(number)s.", number=number), "success")
        elif action == "solved":
            close = request.form.get("close") == "1"
            cases.solved_without_return(current_user.email, number, article_id, close=close)
            if close:
                flash(_("%(number)s solved without a return and closed.", number=number), "success")
            else:
                flash(
                    _("%(number)s recorded as solved without a return.", number=number), "success"
                )
        else:
            abort(404)
    except DomainError as error:
        flash(error.message, "error")
    return redirect(url_for("desk.detail", number=number, _anchor="knowledge"))


@bp.app_template_global()
def case_knowledge_panel(rma: Any) -> dict[str, Any]:
    """What the case page's knowledge panel shows (web/templates/_rma_knowledge.html)."""
    sku = rma.lines[0].sku if rma.lines else None
    case, suggestions = services().knowledge.cases.panel(
        rma.number, SuggestQuery(sku=sku, q=rma.description or "")
    )
    return {"case": case, "suggestions": suggestions, "closed": rma.status in TERMINAL}
