"""PaperTrail's web chat (Gradio): cited answers, a sources panel, filters and uploads."""
