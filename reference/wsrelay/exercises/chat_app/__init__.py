"""The model answer of the chat the learner builds: ``lambda_function.py`` and ``template.yaml``.

``wsrelay.workbook_app.ChatApp`` copies both into the learner's ``notebooks/chat_app/`` (the
learner's own functions replaced by stubs); the exercises' checkers prove each function, and
the tests serve the whole file from its template and deploy it.
"""
