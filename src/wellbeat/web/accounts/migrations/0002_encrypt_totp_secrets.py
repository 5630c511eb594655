"""TOTP secrets are stored encrypted (wellbeat.web.accounts.encryption): widen the column and
encrypt every plaintext secret already there. Needs the field key (WELLBEAT_FIELD_KEY)."""

from typing import Any

from django.db import migrations

import wellbeat.web.accounts.encryption


def _rewrite(schema_editor: Any, convert: Any, wanted: Any) -> None:
    # Raw SQL: the model field would try to decrypt the plaintext rows on read.
    connection = schema_editor.connection
    table = connection.ops.quote_name("accounts_user")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, totp_secret FROM {table} WHERE totp_secret <> ''")
        rows = cursor.fetchall()
        for user_id, stored in rows:
            if wanted(stored):
                cursor.execute(
                    f"UPDATE {table} SET totp_secret = %s WHERE id = %s",
                    [convert(stored), user_id],
                )


def encrypt_plaintext_secrets(apps: Any, schema_editor: Any) -> None:
    from wellbeat.web.accounts.encryption import encrypt_text, is_encrypted

    _rewrite(schema_editor, encrypt_text, lambda value: not is_encrypted(value))


def decrypt_secrets(apps: Any, schema_editor: Any) -> None:
    from wellbeat.web.accounts.encryption import decrypt_text, is_encrypted

    _rewrite(schema_editor, decrypt_text, is_encrypted)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_agencies_users_and_api_tokens")]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="totp_secret",
            field=wellbeat.web.accounts.encryption.EncryptedTextField(blank=True, default=""),
        ),
        migrations.RunPython(encrypt_plaintext_secrets, decrypt_secrets),
    ]
