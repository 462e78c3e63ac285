# Classroom delivery (included by the Makefile):
#   make student   student versions of the notebooks in student/ (solutions replaced by stubs)
#   make slides    offline reveal.js decks in slides/ (open slides/NN_*.slides.html; S = speaker notes)
#   make slides-fit  every slide of the decks in slides/ measured at 1280x720 in Chromium, one
#                    screenshot per slide in test-output/deck-fit/ (look at them)
# Options: SLIDES_EXECUTE=full|quick|none (run the notebooks first; default full, a few minutes
# per notebook on a laptop CPU), NOTEBOOKS="notebooks/05_*.ipynb", STUDENT_DIR, SLIDES_DIR.

NOTEBOOKS ?= $(sort $(wildcard notebooks/[0-9]*.ipynb))
STUDENT_DIR ?= student
SLIDES_DIR ?= slides
SLIDES_EXECUTE ?= full
# reveal.js and MathJax come from the npm registry (npm pack), unpacked into a git-ignored folder.
VENDOR_DIR ?= .cache/vendor
REVEAL_VERSION ?= 4.6.0
MATHJAX_VERSION ?= 3.2.2
NPM ?= npm

.PHONY: student slides slides-fit vendor

student: setup
	$(if $(NOTEBOOKS),$(PY) -m ganedu.classroom.student $(NOTEBOOKS) --out $(STUDENT_DIR),@echo "no notebooks/NN_*.ipynb yet")

$(VENDOR_DIR)/reveal.js/.version-$(REVEAL_VERSION):
	@command -v $(NPM) >/dev/null || { echo "make slides needs npm (Node.js) to fetch reveal.js once" >&2; exit 1; }
	rm -rf $(VENDOR_DIR)/reveal.js && mkdir -p $(VENDOR_DIR)/reveal.js
	cd $(VENDOR_DIR) && $(NPM) pack --silent --loglevel=error reveal.js@$(REVEAL_VERSION) >/dev/null
	tar xzf $(VENDOR_DIR)/reveal.js-$(REVEAL_VERSION).tgz -C $(VENDOR_DIR)/reveal.js --strip-components=1
	rm -f $(VENDOR_DIR)/reveal.js-$(REVEAL_VERSION).tgz
	@touch $@

$(VENDOR_DIR)/mathjax/.version-$(MATHJAX_VERSION):
	@command -v $(NPM) >/dev/null || { echo "make slides needs npm (Node.js) to fetch MathJax once" >&2; exit 1; }
	rm -rf $(VENDOR_DIR)/mathjax && mkdir -p $(VENDOR_DIR)/mathjax
	cd $(VENDOR_DIR) && $(NPM) pack --silent --loglevel=error mathjax@$(MATHJAX_VERSION) >/dev/null
	tar xzf $(VENDOR_DIR)/mathjax-$(MATHJAX_VERSION).tgz -C $(VENDOR_DIR)/mathjax --strip-components=1
	rm -f $(VENDOR_DIR)/mathjax-$(MATHJAX_VERSION).tgz
	@touch $@

vendor: $(VENDOR_DIR)/reveal.js/.version-$(REVEAL_VERSION) $(VENDOR_DIR)/mathjax/.version-$(MATHJAX_VERSION)

slides: setup vendor
	$(if $(NOTEBOOKS),$(PY) -m ganedu.classroom.slides $(NOTEBOOKS) --out $(SLIDES_DIR) --vendor $(VENDOR_DIR) --execute $(SLIDES_EXECUTE),@echo "no notebooks/NN_*.ipynb yet")

slides-fit: setup
	@mkdir -p test-output/deck-fit
	$(if $(wildcard $(SLIDES_DIR)/*.slides.html),$(PY) tests/browser/deck_fit.py $(wildcard $(SLIDES_DIR)/*.slides.html) --shots test-output/deck-fit --json test-output/deck-fit/slides.json,@echo "no decks in $(SLIDES_DIR)/: run make slides first")
