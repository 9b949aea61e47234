"""Full-text search of papers (/search/).

    fulltext.py  the visitor's query: cleaning, the tsquery, the time limit, the SQLite
                 fallback's reading of it
    matching.py  matching, ranking and highlighting papers (on a Paper queryset)
    spelling.py  did you mean: misspelled words corrected by trigram matching (pg_trgm)
                 against the titles' vocabulary (models.SearchWord)
    forms.py     the search form (query, dates, category, order)
    views.py     the page; its URL keeps the name papers:search (config/urls.py)

The index itself is papers.SearchDocument, kept up to date by PostgreSQL triggers
(papers migration 0008); highlights are rendered by papers.highlight.
"""
