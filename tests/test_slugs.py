import pytest

from publisher.slugs import slugify


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("bassin d'emploi", "bassin-d-emploi"),
        ("Bassin d’emploi", "bassin-d-emploi"),
        ("actualité emploi-formation", "actualite-emploi-formation"),
        ("insertion par l'activité économique", "insertion-par-l-activite-economique"),
        ("Main-d’œuvre « qualifiée »", "main-d-oeuvre-qualifiee"),
        ("Égalité femmes–hommes", "egalite-femmes-hommes"),
        ("  VAE  ", "vae"),
        ("santé et médico-social", "sante-et-medico-social"),
    ],
)
def test_slugs_are_stable_ascii(name, slug):
    assert slugify(name) == slug
    assert slugify(slug) == slug
