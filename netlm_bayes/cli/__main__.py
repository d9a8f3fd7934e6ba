from netlm_bayes.cli import app

app()
