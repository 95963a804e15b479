from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registers", "0002_importjob"),
    ]

    operations = [
        migrations.AddField(
            model_name="snapshot",
            name="scope",
            field=models.CharField(blank=True, default="", max_length=13, verbose_name="region"),
        ),
        migrations.RemoveConstraint(
            model_name="snapshot",
            name="one_current_snapshot_per_kind_and_date",
        ),
        migrations.AddConstraint(
            model_name="snapshot",
            constraint=models.UniqueConstraint(
                condition=models.Q(("superseded_at__isnull", True)),
                fields=("kind", "as_of", "scope"),
                name="one_current_snapshot_per_kind_date_and_scope",
            ),
        ),
    ]
