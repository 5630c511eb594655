# Golden outputs of R's glm for wellbeat.analytics.equity.veil_of_darkness_fit.
#
# Run from this directory:  Rscript make_golden.R
# Reads veil_frame.csv (written by ../stops_fixture.py: the inter-twilight stops that were
# clearly light or dark, with is_group, is_dark, minute and place) and writes veil_glm.json:
# per case, the formula and the darkness coefficient and standard error of
#   glm(is_group ~ is_dark + splines::bs(minute, df = DF) [+ factor(place)], family = binomial)
# Needs R >= 4.2 (splines is part of base R); no other package.
frame <- read.csv("veil_frame.csv", colClasses = c(place = "character"))
cases <- list(
  list(name = "bs6_place", df = 6, place = TRUE),
  list(name = "bs6", df = 6, place = FALSE),
  list(name = "bs4_place", df = 4, place = TRUE)
)
fmt <- function(x) formatC(x, digits = 17, format = "g")
lines <- c()
for (case in cases) {
  rhs <- sprintf("is_dark + splines::bs(minute, df = %d)", case$df)
  if (case$place) rhs <- paste(rhs, "+ factor(place)")
  fit <- glm(as.formula(paste("is_group ~", rhs)), family = binomial, data = frame,
             control = glm.control(epsilon = 1e-14, maxit = 100))
  s <- summary(fit)$coefficients
  lines <- c(lines, sprintf(
    '  "%s": {"df": %d, "place": %s, "coefficient": %s, "standard_error": %s, "n": %d}',
    case$name, case$df, tolower(as.character(case$place)), fmt(s["is_dark", "Estimate"]),
    fmt(s["is_dark", "Std. Error"]), nrow(frame)))
}
lines <- c(lines, sprintf('  "r_version": "%s"', R.version.string))
writeLines(c("{", paste(lines, collapse = ",\n"), "}"), "veil_glm.json")
