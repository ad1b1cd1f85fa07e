-- Late results logged before 'superseded' existed carry the outcome they would have decided. Of a delivery's
-- 'succeeded' attempts only the first decided anything (a success ends the delivery): the others are superseded.
UPDATE attempts a SET outcome = 'superseded'
FROM (
  SELECT id, row_number() OVER (PARTITION BY delivery_id ORDER BY started_at, id) AS n
  FROM attempts WHERE outcome = 'succeeded'
) s
WHERE a.id = s.id AND s.n > 1;
