from library.models import Collection, SavedPaper

from .accounts_helpers import sign_in_browser, verified
from .factories import PaperFactory, UserFactory


def test_shots(page, live_server):
    owner = verified(UserFactory(username="olga", display_name="Olga Owner"))
    papers = [
        PaperFactory(
            title=t,
            authors=["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"],
            code_url="https://github.com/a/b" if i % 2 else "",
        )
        for i, t in enumerate(
            [
                "Attention Is All You Need",
                "Denoising Diffusion Probabilistic Models $\\epsilon$-prediction",
                "Scaling Laws for Neural Language Models",
                "Deep Residual Learning",
            ]
        )
    ]
    for p in papers[:3]:
        SavedPaper.objects.save_paper(owner, p)
    SavedPaper.objects.mark_read(owner, papers[0], True)
    c = Collection.objects.create_named(
        owner, "Transformers reading group", "Papers for our Thursday group.", "public"
    )
    c.add_papers(papers)
    c.items.get(paper=papers[1]).set_note(
        "**Key idea**: predict the noise $\\epsilon_\\theta(x_t, t)$.\n\n- read section 3\n- compare with [DDIM](https://arxiv.org/abs/2010.02502)"
    )
    Collection.objects.create_named(owner, "Secret", visibility="unlisted")
    sign_in_browser(page.context, owner, live_server)
    for name, url, width in [
        ("library", "/library/", 1280),
        ("collection", c.get_absolute_url(), 1280),
        ("detail", papers[1].get_absolute_url(), 1280),
        ("home", "/", 1280),
        ("import", "/library/import/", 1280),
        ("profile", "/users/olga/", 1280),
        ("library_phone", "/library/", 360),
        ("collection_phone", c.get_absolute_url(), 360),
        ("unlisted", "/collections/olga/secret/", 1280),
    ]:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        page.wait_for_timeout(300)
        page.screenshot(path=f"/tmp/lib_{name}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/library/import/")
    page.get_by_label("arXiv ids or links").fill(papers[0].arxiv_id + "\nnonsense\n2501.99999")
    page.get_by_role("button", name="Import").click()
    page.wait_for_timeout(500)
    page.screenshot(path="/tmp/lib_import_done.png", full_page=True)
