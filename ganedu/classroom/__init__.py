"""Classroom tools: hand-outs, grading and slide decks, built from the course's notebooks.

- ``student``  ``make student``: the student version (solutions replaced by stubs, solution prose removed)
- ``grade``    ``python -m ganedu grade``: runs a notebook and scores its exercise checks
- ``slides``   ``make slides``: reveal.js decks that work offline
"""
