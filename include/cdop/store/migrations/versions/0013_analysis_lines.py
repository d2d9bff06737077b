"""analysis lines: each factor a line with its factor code and grade (0-2), notes; the
analysis finalised with its date

Revision ID: 0013_analysis_lines
Revises: 0010_gate_decisions

The analysis form recorded each factor as "contributed yes / no" with a description. NCMD
asks for each factor as a line of its own in its domain with a grade: 0 information not
available, 1 present but not contributory, 2 may have contributed (modifiable).

Existing lines: contributed -> grade 2, not contributed -> grade 1; the factor code is
the domain's `other` (data/analysis_factors.toml) and the description, still encrypted
(the column is renamed, its Fernet tokens untouched), becomes the notes.

`analyses.modifiable` is kept as the panel recorded it, not recomputed from the new
grades: before grades existed "contributed" and "modifiable" were separate judgements (a
life-limiting condition contributed to a death that had no modifiable factor), so
recomputing would rewrite the panel's finding and the figures of annual reports already
published. New analyses derive it from their grades (cdop.rules.modifiable).

`analyses.finalised_on` (new): the day the analysis was complete and finalised, for
existing rows the day the case closed (when the analysis was recorded), else the review
date.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_analysis_lines"
down_revision = "0012_portal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analysis_factors") as batch:
        batch.add_column(sa.Column("factor_code", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("grade", sa.Integer(), nullable=True))
        batch.alter_column("description", new_column_name="notes", existing_type=sa.Text(), nullable=True)
    op.execute("UPDATE analysis_factors SET factor_code = 'other', "
               "grade = CASE WHEN contributed THEN 2 ELSE 1 END")
    with op.batch_alter_table("analysis_factors") as batch:
        batch.alter_column("factor_code", existing_type=sa.String(length=40), nullable=False)
        batch.alter_column("grade", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("contributed")
        batch.create_check_constraint(op.f("ck_analysis_factors_grade"), "grade IN (0, 1, 2)")

    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("finalised_on", sa.Date(), nullable=True))
    op.execute("UPDATE analyses SET finalised_on = COALESCE("
               "(SELECT cases.closed_on FROM cases WHERE cases.id = analyses.case_id), reviewed_on)")
    with op.batch_alter_table("analyses") as batch:
        batch.alter_column("finalised_on", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    from cdop import crypto
    from cdop.taxonomy import factor_codes

    with op.batch_alter_table("analyses") as batch:
        batch.drop_column("finalised_on")

    bind = op.get_bind()
    with op.batch_alter_table("analysis_factors") as batch:
        batch.add_column(sa.Column("contributed", sa.Boolean(), nullable=True))
    op.execute("UPDATE analysis_factors SET contributed = (grade = 2)")
    # The old description was required: a line entered with a code and no notes keeps its label.
    codes = factor_codes().by_domain
    blank = bind.execute(sa.text("SELECT id, domain, factor_code FROM analysis_factors WHERE notes IS NULL")).all()
    if blank:
        bind.execute(sa.text("UPDATE analysis_factors SET notes = :notes WHERE id = :id"),
                     [{"id": i, "notes": crypto.encrypt(codes.get(d, {}).get(c, c))} for i, d, c in blank])
    with op.batch_alter_table("analysis_factors") as batch:
        batch.drop_constraint(op.f("ck_analysis_factors_grade"), type_="check")
        batch.alter_column("contributed", existing_type=sa.Boolean(), nullable=False)
        batch.alter_column("notes", new_column_name="description", existing_type=sa.Text(), nullable=False)
        batch.drop_column("grade")
        batch.drop_column("factor_code")
