"""Keep each HSDS document as JSON text, so export returns the imported bytes on PostgreSQL too
(jsonb reorders object keys)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("care", "0001_directory_encounters_referrals_followups_triage")]

    operations = [
        migrations.RenameField("directoryentry", "document", "document_json"),
        migrations.AlterField(
            model_name="directoryentry",
            name="document_json",
            field=models.TextField(
                help_text=("The HSDS service document as imported, as JSON text (key order kept)")
            ),
        ),
    ]
