"""Flagging by participants; the moderators' queue, decisions and catalog merges; the admins' audit trail."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from forms.moderation import DecisionForm, FlagForm, MergeForm
from registry.accounts import audit
from registry.catalog import merge as catalog_merge
from registry.contributions import moderation
from registry.platform.extensions import db, submit_limit
from registry.web.hooks import role_required
from registry.web.views import page_arg
from scales.i18n import N_, ngettext
from scales.i18n import gettext as _

bp = Blueprint("moderation", __name__)

# What a participant, or a moderator, is told after acting on a tip, comment or catalog entry, by its kind.
FLAGGED = {
    "tip": N_("Thank you. A moderator will review this tip."),
    "comment": N_("Thank you. A moderator will review this comment."),
    "condition": N_("Thank you. A moderator will review this condition."),
    "treatment": N_("Thank you. A moderator will review this treatment."),
    "doctor": N_("Thank you. A moderator will review this doctor."),
}
DECIDED = {
    ("tip", "hide"): N_("The tip is hidden."),
    ("tip", "keep"): N_("The tip is kept public."),
    ("tip", "restore"): N_("The tip is restored."),
    ("comment", "hide"): N_("The comment is hidden."),
    ("comment", "keep"): N_("The comment is kept public."),
    ("comment", "restore"): N_("The comment is restored."),
}
NOT_FOUND = {
    "condition": N_("No condition with that name in the catalog."),
    "treatment": N_("No treatment with that name in the catalog."),
    "doctor": N_("No doctor with that name in the catalog."),
}


@bp.app_context_processor
def waiting_for_moderators() -> dict:
    """The queue's size for the moderators' navigation link: a function, so only their pages query it."""
    return {"moderation_waiting": moderation.open_flag_count}


def public_url(kind: str, target) -> str:
    """Where the flagged thing is shown to the public."""
    if kind == "tip":
        return url_for(
            "reports.treatment", slug=target.condition.slug, treatment_slug=target.treatment.slug, _anchor="tips"
        )
    if kind == "comment":
        return url_for("catalog.doctor", doctor_id=target.doctor_id, _anchor="comments")
    if kind == "condition":
        return url_for("reports.condition", slug=target.slug)
    if kind == "treatment":
        return url_for("catalog.treatment", slug=target.slug)
    return url_for("catalog.doctor", doctor_id=target.id)


@bp.route("/flag/<kind>/<int:target_id>", methods=["GET", "POST"])
@submit_limit
@login_required
def flag(kind: str, target_id: int):
    """A participant tells the moderators what is wrong with a tip, comment or catalog entry."""
    target = moderation.flag_target(kind, target_id)
    if target is None:
        abort(404)
    form = FlagForm()
    if form.validate_on_submit():
        moderation.raise_flag(current_user, kind, target_id, form.reason.data, (form.note.data or "").strip())
        db.session.commit()
        flash(_(FLAGGED[kind]), "success")
        return redirect(public_url(kind, target))
    return render_template(
        "moderation/flag.html", form=form, kind=kind, noun=kind, target=target, back=public_url(kind, target)
    )


@bp.get("/moderation")
@role_required("moderator")
def queue():
    """Held and flagged text and flagged catalog entries, with the decisions at hand."""
    return render_template(
        "moderation/queue.html",
        items=moderation.queue(),
        hidden=moderation.hidden_text(page_arg()),
        hidden_comments=moderation.hidden_comments(),
        form=DecisionForm(),
        public_url=public_url,
    )


def _decision() -> DecisionForm | None:
    """The posted decision, or None after flashing what is wrong with it (back to the queue)."""
    form = DecisionForm()
    if form.validate_on_submit():
        return form
    for errors in form.errors.values():
        flash(" ".join(errors), "error")
    return None


@bp.post("/moderation/<kind>/<int:target_id>")
@role_required("moderator")
def decide(kind: str, target_id: int):
    """Hide, keep or restore one tip or comment."""
    row = moderation.moderated_text(kind, target_id)
    if row is None:
        abort(404)
    form = _decision()
    if form is None:
        return redirect(url_for(".queue"))
    state = "hidden" if form.action.data == "hide" else "public"
    moderation.set_text_state(current_user, kind, row, state, (form.reason.data or "").strip() or None)
    db.session.commit()
    flash(_(DECIDED[kind, form.action.data]), "success")
    return redirect(url_for(".queue"))


@bp.post("/moderation/<kind>/<int:target_id>/dismiss")
@role_required("moderator")
def dismiss(kind: str, target_id: int):
    """Close the flags on a catalog entry that needs no change."""
    if kind not in moderation.CATALOG_KINDS or moderation.flag_target(kind, target_id) is None:
        abort(404)
    form = _decision()
    if form is None:
        return redirect(url_for(".queue"))
    count = moderation.dismiss_flags(current_user, kind, target_id, (form.reason.data or "").strip() or None)
    db.session.commit()
    flash(_dismissed(kind, count), "success")
    return redirect(url_for(".queue"))


def _dismissed(kind: str, count: int) -> str:
    """What the moderator is told after closing the flags on a catalog entry."""
    if kind == "condition":
        return ngettext(
            "Closed %(num)s flag; the condition is unchanged.",
            "Closed %(num)s flags; the condition is unchanged.",
            count,
        )
    if kind == "treatment":
        return ngettext(
            "Closed %(num)s flag; the treatment is unchanged.",
            "Closed %(num)s flags; the treatment is unchanged.",
            count,
        )
    return ngettext(
        "Closed %(num)s flag; the doctor is unchanged.", "Closed %(num)s flags; the doctor is unchanged.", count
    )


@bp.route("/moderation/merge/<kind>/<int:source_id>", methods=["GET", "POST"])
@role_required("moderator")
def merge(kind: str, source_id: int):
    """Merge a duplicate into the entry that stays: preview on the first post, merge on confirming."""
    if kind not in moderation.CATALOG_KINDS:
        abort(404)
    source = db.get_or_404(moderation.CATALOG_KINDS[kind], source_id)
    form = MergeForm()
    survivor, preview = None, None
    if form.validate_on_submit():
        survivor = catalog_merge.find_entry(kind, form.survivor.data)
        if survivor is None:
            form.survivor.errors.append(_(NOT_FOUND[kind]))
        elif survivor.id == source.id:
            form.survivor.errors.append(_("Choose another entry: this is the duplicate itself."))
        elif request.form.get("confirm") == "yes":
            result = catalog_merge.merge(current_user, kind, source, survivor)
            db.session.commit()
            flash(result.summary(source.name, survivor.name), "success")
            return redirect(url_for(".queue"))
        else:
            preview = catalog_merge.merge_preview(kind, source, survivor)
    return render_template(
        "moderation/merge.html",
        form=form,
        kind=kind,
        source=source,
        survivor=survivor,
        preview=preview,
        public_url=public_url,
    )


@bp.get("/admin/audit")
@role_required("admin")
def audit_trail():
    """Every recorded change and export, newest first (admins only)."""
    kind = (request.args.get("kind") or "").strip()[:20] or None
    return render_template("moderation/audit.html", events=audit.events(page_arg(), kind=kind), kind=kind)
