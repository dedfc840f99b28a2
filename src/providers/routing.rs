//! Picks a channel for a task (MODELS.md §Routing): among the channels that serve its model and
//! can take it now (not paused, breaker closed, under `max_concurrency` and `rpm`), the highest
//! priority first, then by weight among equals. `None` means the task keeps waiting `queued`.

/// One channel as the router sees it at this moment.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub priority: i64,
    pub weight: u32,
    /// Serves the model and can take a task now.
    pub available: bool,
}

/// The index of the chosen candidate. `roll` is a random number (the weight draw).
pub fn pick(candidates: &[Candidate], roll: u64) -> Option<usize> {
    let best = candidates
        .iter()
        .filter(|c| c.available)
        .map(|c| c.priority)
        .max()?;
    let group: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].available && candidates[i].priority == best)
        .collect();
    let total: u64 = group
        .iter()
        .map(|&i| u64::from(candidates[i].weight.max(1)))
        .sum();
    let mut point = roll % total.max(1);
    for &i in &group {
        let weight = u64::from(candidates[i].weight.max(1));
        if point < weight {
            return Some(i);
        }
        point -= weight;
    }
    group.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(priority: i64, weight: u32, available: bool) -> Candidate {
        Candidate {
            priority,
            weight,
            available,
        }
    }

    #[test]
    fn highest_available_priority_wins() {
        let list = [
            candidate(10, 1, false),
            candidate(5, 1, true),
            candidate(1, 9, true),
        ];
        for roll in 0..20 {
            assert_eq!(pick(&list, roll), Some(1));
        }
    }

    #[test]
    fn weight_shares_equal_priorities() {
        let list = [candidate(0, 1, true), candidate(0, 3, true)];
        let picks: Vec<_> = (0..400).map(|roll| pick(&list, roll)).collect();
        let second = picks.iter().filter(|p| **p == Some(1)).count();
        assert_eq!(second, 300);
    }

    #[test]
    fn nothing_available_means_wait() {
        assert_eq!(pick(&[candidate(0, 1, false)], 7), None);
        assert_eq!(pick(&[], 7), None);
    }
}
