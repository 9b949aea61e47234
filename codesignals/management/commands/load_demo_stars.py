from django.core.management.base import BaseCommand

from codesignals.demo import load_demo_stars


class Command(BaseCommand):
    help = (
        "Give the demo's GitHub repositories the star counts Hugging Face's archive "
        "recorded (offline; repositories already fetched are left alone). Run after "
        "load_demo; re-running changes nothing."
    )

    def handle(self, **options):
        loaded = load_demo_stars()
        self.stdout.write(f"Demo stars: {loaded} repositories given their recorded count.")
