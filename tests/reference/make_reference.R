# Reference values for srnskit.analysis, computed independently with R.
#
# Regenerate (Debian: apt-get install r-base-core r-cran-survival):
#     Rscript tests/reference/make_reference.R
# from the repository root. It writes the published datasets it uses to tests/reference/data/
# (CSV) and every number to tests/reference/r_reference.json; the tests read both, so R is
# never needed to run them. Datasets: R's own (sleep, mtcars, chickwts, HairEyeColor,
# UCBAdmissions) and prop.test's Wilson interval, and the survival package's (aml, lung, ovarian, rats, mgus2).
suppressMessages(library(survival))
out_dir <- "tests/reference"
dir.create(file.path(out_dir, "data"), showWarnings = FALSE, recursive = TRUE)

# A minimal JSON writer (jsonlite is not a Debian base package): numbers with 17 digits.
num <- function(x) {
  if (length(x) == 0) return("[]")
  v <- ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "1e308", "-1e308"),
                                       sprintf("%.17g", x)))
  if (length(x) == 1) v else paste0("[", paste(v, collapse = ", "), "]")
}
str_ <- function(x) paste0('"', x, '"')
obj <- function(...) {
  items <- list(...)
  paste0("{", paste(sprintf('"%s": %s', names(items), unlist(items)), collapse = ", "), "}")
}
arr <- function(items) paste0("[", paste(unlist(items), collapse = ", "), "]")
csv <- function(frame, name) write.csv(frame, file.path(out_dir, "data", name), row.names = FALSE)

# ---- Kaplan-Meier (conf.type = "log", R's default), median and its interval ----
csv(aml[, c("time", "status", "x")], "aml.csv")
lung2 <- lung[, c("time", "status", "sex")]
lung2$status <- lung2$status - 1  # 1 = censored, 2 = dead in the package; 0/1 here
csv(lung2, "lung.csv")
km <- function(fit, label) {
  s <- summary(fit, censored = TRUE)
  strata <- if (is.null(s$strata)) rep("all", length(s$time)) else sub(".*=", "", s$strata)
  med <- summary(fit)$table
  if (is.null(dim(med))) med <- t(as.matrix(med))
  obj(name = str_(label), group = arr(str_(strata)), time = num(s$time),
      n_risk = num(s$n.risk), n_event = num(s$n.event), n_censor = num(s$n.censor),
      survival = num(s$surv), lower = num(s$lower), upper = num(s$upper),
      median_group = arr(str_(if (nrow(med) == 1) "all" else sub(".*=", "", rownames(med)))),
      median = num(med[, "median"]), median_lower = num(med[, "0.95LCL"]),
      median_upper = num(med[, "0.95UCL"]))
}
kaplan_meier <- arr(list(
  km(survfit(Surv(time, status) ~ x, data = aml), "aml by x"),
  km(survfit(Surv(time, status) ~ 1, data = aml), "aml"),
  km(survfit(Surv(time, status) ~ sex, data = lung2), "lung by sex")
))

# ---- log-rank (survdiff, rho = 0) ----
csv(ovarian[, c("futime", "fustat", "rx")], "ovarian.csv")
lr <- function(fit, label) {
  df <- length(fit$n) - 1
  obj(name = str_(label), statistic = num(fit$chisq), df = num(df),
      p_value = num(pchisq(fit$chisq, df, lower.tail = FALSE)))
}
lung3 <- lung[!is.na(lung$ph.ecog) & lung$ph.ecog < 3, c("time", "status", "ph.ecog")]
lung3$status <- lung3$status - 1
csv(lung3, "lung_ecog.csv")
logrank <- arr(list(
  lr(survdiff(Surv(time, status) ~ x, data = aml), "aml by x"),
  lr(survdiff(Surv(futime, fustat) ~ rx, data = ovarian), "ovarian by rx"),
  lr(survdiff(Surv(time, status) ~ ph.ecog, data = lung3), "lung by ph.ecog (3 groups)")
))

# ---- Cox model with cluster-robust errors (Efron ties) ----
csv(rats, "rats.csv")
cox <- coxph(Surv(time, status) ~ rx + cluster(litter), data = rats)
cox_ref <- obj(name = str_("rats: rx + cluster(litter)"), coef = num(unname(coef(cox))),
               robust_se = num(unname(sqrt(diag(cox$var)))),
               naive_se = num(unname(sqrt(diag(cox$naive.var)))),
               p_value = num(unname(summary(cox)$coefficients[, "Pr(>|z|)"])))

# ---- Aalen-Johansen: cumulative incidence of PCM with death as the competing event ----
m <- mgus2
m$etime <- with(m, ifelse(pstat == 0, futime, ptime))
m$event <- with(m, ifelse(pstat == 0, 2 * death, 1))  # 0 censored, 1 pcm, 2 death
csv(m[, c("etime", "event")], "mgus2.csv")
ajfit <- survfit(Surv(etime, factor(event, 0:2, labels = c("censor", "pcm", "death"))) ~ 1,
                 data = m)
at <- c(12, 60, 120, 240, 360)
sa <- summary(ajfit, times = at)
aalen_johansen <- obj(name = str_("mgus2: pcm vs death"), times = num(at),
                      cif_event = num(sa$pstate[, which(sa$states == "pcm")]),
                      cif_competing = num(sa$pstate[, which(sa$states == "death")]))

# ---- Aalen-Johansen with four competing states and its interval (srnskit's cumulative incidence
# of remission, clinical.md section 9): multi-state survfit with a factor status whose first
# level is censoring; std.err by the infinitesimal jackknife, conf.type = "log" (the default):
#     survfit(Surv(time, status) ~ 1, data = competing)   and   ~ group, data = competing_groups
# Hand-written data: 1 remission, 2 course_end, 3 kidney_failure, 4 death, 0 censored; ties of
# an event with a censoring (time 2, 8), two events at one time (4, 8); in group b the last
# course at risk remits (the event-free probability reaches 0).
competing_states <- c("censored", "remission", "course_end", "kidney_failure", "death")
competing <- data.frame(time = c(1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9, 10, 11, 12),
                        status = c(1, 2, 0, 1, 3, 1, 0, 4, 1, 2, 1, 0, 2, 1, 0))
competing_groups <- data.frame(
  group = c(rep("a", 8), rep("b", 7)),
  time = c(0.5, 1.5, 1.5, 2, 3, 3.5, 4, 6, 1, 1, 2.5, 3, 3, 4.5, 5),
  status = c(1, 1, 0, 2, 4, 1, 3, 0, 2, 1, 0, 1, 1, 2, 1))
csv(competing, "competing.csv")
csv(competing_groups, "competing_groups.csv")
cif <- function(fit, label) {
  st <- fit$states[-1]  # the first is the event-free state "(s0)"
  strata <- if (is.null(fit$strata)) rep("all", length(fit$time)) else
    rep(sub(".*=", "", names(fit$strata)), fit$strata)
  col <- function(m) num(as.vector(m[, -1, drop = FALSE]))  # state by state, times within
  obj(name = str_(label), states = arr(str_(st)), group = arr(str_(strata)),
      time = num(fit$time), n_risk = num(fit$n.risk[, 1]), estimate = col(fit$pstate),
      std_err = col(fit$std.err), lower = col(fit$lower), upper = col(fit$upper),
      conf_type = str_(fit$conf.type))
}
status_factor <- function(x) factor(x, 0:4, labels = competing_states)
cumulative_incidence <- arr(list(
  cif(survfit(Surv(time, status_factor(status)) ~ 1, data = competing), "four states"),
  cif(survfit(Surv(time, status_factor(status)) ~ group, data = competing_groups),
      "four states by group")))

# ---- t tests: Student, Welch, paired ----
csv(sleep, "sleep.csv")
tt <- function(t, kind) obj(kind = str_(kind), statistic = num(unname(t$statistic)),
                            df = num(unname(t$parameter)), p_value = num(t$p.value),
                            ci_low = num(t$conf.int[1]), ci_high = num(t$conf.int[2]))
a <- sleep$extra[sleep$group == 1]
b <- sleep$extra[sleep$group == 2]
ttests <- arr(list(tt(t.test(a, b, var.equal = TRUE), "student"),
                   tt(t.test(a, b), "welch"),
                   tt(t.test(a, b, paired = TRUE), "paired")))

# ---- Mann-Whitney (wilcox.test: exact without ties and n < 50, else normal + correction) ----
csv(mtcars[, c("mpg", "am")], "mtcars.csv")
csv(chickwts, "chickwts.csv")
wx <- function(w, label) obj(name = str_(label), statistic = num(unname(w$statistic)),
                             p_value = num(w$p.value))
suppressWarnings({
  w1 <- wilcox.test(mpg ~ am, data = mtcars)
  w2 <- wilcox.test(chickwts$weight[chickwts$feed == "horsebean"],
                    chickwts$weight[chickwts$feed == "linseed"])
})
mann_whitney <- arr(list(wx(w1, "mtcars mpg by am (ties: normal)"),
                         wx(w2, "chickwts horsebean vs linseed (exact)")))

# ---- chi-square (Yates on 2x2, as R's default) and Fisher's exact test ----
admit <- margin.table(UCBAdmissions, c(1, 2))   # Admit x Gender
hair_eye <- margin.table(HairEyeColor, c(1, 2)) # 4 x 4
tea <- matrix(c(3, 1, 1, 3), 2)                 # fisher.test's own example
job <- matrix(c(1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11), 4, 4)  # fisher.test's
small <- matrix(c(2, 5, 7, 3, 1, 6), 2)         # a 2 x 3 table with small counts
tab <- function(x) arr(lapply(seq_len(nrow(x)), function(i) num(as.numeric(x[i, ]))))
cs <- function(x, label) { t <- chisq.test(x)
  obj(name = str_(label), table = tab(x), test = str_("chi-square"),
      statistic = num(unname(t$statistic)), df = num(unname(t$parameter)),
      p_value = num(t$p.value)) }
fi <- function(x, label) { t <- fisher.test(x)
  obj(name = str_(label), table = tab(x), test = str_("fisher"), p_value = num(t$p.value)) }
contingency <- arr(list(cs(admit, "UCBAdmissions admit x gender"),
                        cs(hair_eye, "HairEyeColor hair x eye"),
                        fi(tea, "tea tasting"), fi(job, "job satisfaction 4x4"),
                        fi(small, "small 2x3")))

# ---- Wilson score interval (prop.test without continuity correction) ----
wl <- function(k, n) { ci <- suppressWarnings(prop.test(k, n, correct = FALSE)$conf.int)
  obj(successes = num(k), n = num(n), lower = num(ci[1]), upper = num(ci[2])) }
wilson <- arr(list(wl(8, 22), wl(0, 5), wl(17, 26), wl(26, 26)))

writeLines(paste0("{\n", paste(sprintf('"%s": %s', c(
  "r_version", "survival_version", "kaplan_meier", "logrank", "cox_cluster", "aalen_johansen",
  "cumulative_incidence", "ttest", "mann_whitney", "contingency", "wilson"), c(
  str_(R.version.string), str_(as.character(packageVersion("survival"))), kaplan_meier,
  logrank, cox_ref, aalen_johansen, cumulative_incidence, ttests, mann_whitney, contingency,
  wilson)), collapse = ",\n"),
  "\n}"), file.path(out_dir, "r_reference.json"))
cat("wrote", file.path(out_dir, "r_reference.json"), "\n")
